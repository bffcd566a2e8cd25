// Datasets of a known system sampled every h by the reference integrator: DOP853 at rtol = atol = 1e-14, or for the
// stiff Kuramoto-Sivashinsky system (ks) ETDRK4 (solve/etdrk4.h) in Fourier space with steps of at most
// etdrk4_step (each span cut into equal steps: h / ceil(h / etdrk4_step) between samples):
//   train: from the initial state, after a spin-up onto the attractor, train_steps + 1 samples (train_steps pairs);
//   test:  each trajectory starts where the previous one (the training one first) ended, after a seeded gap of
//          10 to 20 time units, and has test_steps + 1 samples;
//   validation (validation_steps > 0): after the test trajectories and a gap of 10 to 20 time units drawn from a
//          stream of its own (so train and test are those of a dataset without validation), validation_steps + 1
//          samples.
// Noise (Gaussian, standard deviation `noise`, seeded) is added to the observed splits, train and validation; the
// test split stays clean (errors are measured against the true trajectory).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "trk/core/fields.h"
#include "trk/experiment/dataset.h"
#include "trk/field/systems.h"

namespace trk {

struct GenerateOptions {
  std::string system = "lorenz63";
  Parameters parameters;            // overrides of the system's defaults
  double h = 0.2;
  long train_steps = 2000;
  long test_steps = 500;
  int test_trajectories = 1;
  long validation_steps = 500;      // 0: no /validation split
  std::int64_t seed = 0;
  double noise = 0.0;
  double spin_up = -1.0;            // time units >= 0; -1: the system's default (lorenz63 5, lorenz96 20, linear 0,
                                    // ks 200)
  Vec initial_state;                // empty: the system's default (lorenz63: (8, 0, 30))
  double rtol = 1e-14;              // reference tolerances (1e-12 leaves ~2e-7 over 10 time units on Lorenz-63)
  double atol = 1e-14;
  // ks: the longest ETDRK4 step. 0.005 keeps each sample within ~1e-9 of a solve with half the step (L = 22,
  // n = 64, h = 0.25: tests/experiment/generate_test.cpp).
  double etdrk4_step = 0.005;
  // ks: the most ETDRK4 steps a run may take (spin-up, gaps and samples together); validation_error() refuses more.
  static constexpr double kMaxEtdrk4Steps = 1e9;

  // First invalid field with what is expected, or "" when valid.
  std::string validation_error() const;
  double resolved_spin_up() const;
};

// The keys of a config's "generate" section (system and parameters are the config's own keys).
template <class V>
void visit_fields(GenerateOptions& o, V&& v) {
  v(Field{"h", "sampling step"}, o.h);
  v(Field{"train_steps", "training pairs (steps of the training trajectory)"}, o.train_steps);
  v(Field{"test_steps", "steps of each test trajectory"}, o.test_steps);
  v(Field{"test_trajectories", "test trajectories"}, o.test_trajectories);
  v(Field{"validation_steps", "steps of the validation trajectory (0: none)"}, o.validation_steps);
  v(Field{"seed", "seed of the gaps between trajectories and of the noise"}, o.seed);
  v(Field{"noise", "standard deviation of the noise added to the training samples"}, o.noise);
  v(Field{"spin_up", "time units before the first sample (-1: the system's default)"}, o.spin_up);
  v(Field{"rtol", "reference integrator's relative tolerance"}, o.rtol);
  v(Field{"atol", "reference integrator's absolute tolerance"}, o.atol);
  v(Field{"etdrk4_step", "ks: longest step of the reference ETDRK4 (reduced to divide each span)"}, o.etdrk4_step);
}

// The reference integrator of a system: "etdrk4" for ks, "dop853" for the others.
std::string reference_integrator(const std::string& system);
// The step of ETDRK4 over a span: span / ceil(span / longest), the longest step <= longest that divides it.
double etdrk4_step_dividing(double span, double longest);

// Throws std::invalid_argument on invalid options, std::runtime_error if the reference solve fails.
// `progress(done, total)` is called now and then with the number of samples written.
Dataset generate(const GenerateOptions& options, const std::function<void(long, long)>& progress = {});

}  // namespace trk
