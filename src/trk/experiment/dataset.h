// A sampled dataset in memory (format "trk-dataset", version 1; see README for the HDF5 layout):
// train and test splits, each with sample times t (num_times) and trajectories, one dim x num_times matrix each,
// sampled every h time units.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trk/core/types.h"

namespace trk {

struct Split {
  Vec t;                        // sample times, num_times
  std::vector<Mat> states;      // one per trajectory: dim x num_times, column k is the state at t(k)
  int num_trajectories() const { return static_cast<int>(states.size()); }
  int num_times() const { return static_cast<int>(t.size()); }
  int dim() const { return states.empty() ? 0 : static_cast<int>(states.front().rows()); }
};

struct Dataset {
  std::string system;                          // "lorenz63", "lorenz96", "linear", or another tool's name
  double h = 0.0;                              // sampling step
  std::int64_t seed = 0;
  std::map<std::string, double> parameters;    // system parameters (sigma, rho, beta, ...)
  std::string generator_json = "{}";           // how it was made (integrator, tolerances, spin-up, noise), JSON text
  Split train, test;
  Split validation;                            // optional (no trajectory: none), the layout of train and test
  int dim() const { return train.dim(); }
};

}  // namespace trk
