// Google Benchmark micro-benchmarks of trk's hot paths:
//   one RK step, forward and reverse, TRK10 on a batch of 2000 states (bilinear; MLP 3-64-64-3);
//   one full-batch training iteration as identify runs it (rollout_mse: loss + gradient), per chunk layout;
//   the adaptive dopri8 flow map over [0, h] with its reverse pass (adaptive_flow_mse);
//   the local models (local-bilinear k = 2, m = 3; local-mlp k = 2, widths 16,16 and 64,64) on 2000 states of
//   dimension 40 and 320: eval and vjp (with the parameters' gradient);
//   the |R| grid of the stability report and the order conditions;
//   the peak double FLOP/s of one core (fma_peak.cpp).
// Counters: "states/s" (items), and for the MLP "GFLOP/s" from the analytic counts of flops.h.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <vector>

#include "flops.h"
#include "trk/core/rng.h"
#include "trk/field/bilinear.h"
#include "trk/field/local_bilinear.h"
#include "trk/field/local_mlp.h"
#include "trk/field/mlp.h"
#include "trk/solve/rk_step.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"
#include "trk/train/adaptive_loss.h"
#include "trk/train/losses.h"

namespace {

using namespace trk;

// The heap settings of the trk binary (src/cli/main.cpp), so that these figures are trk's: without them glibc hands
// the top of the heap back after each iteration and the next one faults it in again (dopri8's recorded tapes,
// allocated per accepted step: 2.25 ms per BM_AdaptiveDopri8 iteration instead of 0.9-1.0 ms).
const bool kTrkHeapSettings = [] {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  return true;
}();

constexpr long kBatch = 2000;
constexpr int kStages = 10;
constexpr double kH = 0.2;

// Lorenz-63-like states: uniform in a box the size of the attractor.
Mat states(long n, std::uint64_t seed) {
  Rng rng(seed);
  Mat Z(3, n);
  for (long j = 0; j < n; ++j) {
    Z(0, j) = rng.uniform(-20, 20);
    Z(1, j) = rng.uniform(-25, 25);
    Z(2, j) = rng.uniform(5, 45);
  }
  return Z;
}

// A dense explicit TRK_q: a_ij small and seeded, b = 1/q (every stage combination is computed, as after training).
struct Scheme {
  Mat A;
  Vec b;
  explicit Scheme(int q) : A(Mat::Zero(q, q)), b(Vec::Constant(q, 1.0 / q)) {
    Rng rng(7);
    for (int i = 1; i < q; ++i)
      for (int j = 0; j < i; ++j) A(i, j) = rng.uniform(0.0, 1.0 / q);
  }
};

std::unique_ptr<VectorField> model(int which) {
  if (which == 0) return std::make_unique<BilinearField>(3, 3, 0);
  return std::make_unique<MlpField>(3, std::vector<int>{64, 64}, Activation::kTanh, 0);
}
const char* model_name(int which) { return which == 0 ? "bilinear" : "mlp_3_64_64_3"; }

void set_flop_counters(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RkStepForward(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const long n = state.range(1);
  auto f = model(which);
  const Scheme s(kStages);
  const Mat Z = states(n, 1);
  Mat Zn(3, n);
  StageTape tape;
  CountedField cf(*f);
  for (auto _ : state) {
    rk_step(cf, s.A, s.b, kH, Z, Zn, tape);
    benchmark::DoNotOptimize(Zn.data());
  }
  state.SetLabel(model_name(which));
  state.SetItemsProcessed(state.iterations() * n);
  if (which == 1) set_flop_counters(state, trk_bench::mlp_step_forward_flops(3, {64, 64}, kStages) * n);
}

void BM_RkStepReverse(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const long n = state.range(1);
  auto f = model(which);
  const Scheme s(kStages);
  const Mat Z = states(n, 1);
  Mat Zn(3, n), Z_bar;
  StageTape tape;
  CountedField cf(*f);
  rk_step(cf, s.A, s.b, kH, Z, Zn, tape);
  const Mat U = states(n, 2) * 1e-3;
  Vec theta_bar = Vec::Zero(f->num_params()), b_bar = Vec::Zero(kStages);
  Mat A_bar = Mat::Zero(kStages, kStages);
  for (auto _ : state) {
    rk_step_reverse(cf, s.A, s.b, kH, tape, U, {.Z_bar = &Z_bar, .theta_bar = &theta_bar, .A_bar = &A_bar,
                                                .b_bar = &b_bar});
    benchmark::DoNotOptimize(theta_bar.data());
  }
  state.SetLabel(model_name(which));
  state.SetItemsProcessed(state.iterations() * n);
  const bool recomputed = f->activation_size() * kStages * n > StageTape::kActivationBudget;
  if (which == 1) set_flop_counters(state, trk_bench::mlp_step_reverse_flops(3, {64, 64}, kStages, recomputed) * n);
}

// One training iteration's loss and gradient on n pairs, in chunks of 250 on one thread (identify's layout).
void BM_TrainingIteration(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const long n = state.range(1);
  const int q = static_cast<int>(state.range(2));
  const long chunk = 250;
  auto f = model(which);
  const Scheme s(q);
  const Mat Z = states(n, 1), Y = states(n, 3);
  Vec theta_bar;
  Mat A_bar;
  Vec b_bar;
  for (auto _ : state) {
    double loss = 0;
    for (long c = 0; c < n; c += chunk) {
      const long m = std::min(chunk, n - c);
      const std::vector<Mat> targets{Y.middleCols(c, m)};
      loss += rollout_mse(*f, s.A, s.b, kH, Z.middleCols(c, m), targets,
                          {.A_bar = &A_bar, .b_bar = &b_bar, .theta_bar = &theta_bar}).loss;
    }
    benchmark::DoNotOptimize(loss);
  }
  state.SetLabel(model_name(which));
  state.SetItemsProcessed(state.iterations() * n);
  if (which == 1) set_flop_counters(state, trk_bench::mlp_iteration_flops(3, {64, 64}, q) * n);
}

// dopri8 (RK8(7)13M) over [0, h] on the batch, rtol 1e-7, atol 1e-9 (identify's), forward solve (recording the
// accepted steps' tapes) + reverse.
void BM_AdaptiveDopri8(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const long n = state.range(1);
  auto f = model(which);
  const ButcherTableau t = named_tableau("dopri8");
  const Mat Z = states(n, 1) * 0.05, Y = states(n, 3) * 0.05;
  AdaptiveOptions o;
  o.control.rtol = 1e-7;
  o.control.atol = 1e-9;
  Vec theta_bar;
  long nfe = 0;
  for (auto _ : state) {
    const AdaptiveFlowLoss l = adaptive_flow_mse(*f, t, kH, Z, Y, o, &theta_bar);
    nfe = l.num_forward_evaluations + l.num_backward_evaluations;
    benchmark::DoNotOptimize(theta_bar.data());
  }
  state.SetLabel(model_name(which));
  state.counters["nfe"] = static_cast<double>(nfe);
  state.SetItemsProcessed(state.iterations() * n);
}

std::unique_ptr<VectorField> local_model(int which, int dim) {
  if (which == 0) return std::make_unique<LocalBilinearField>(dim, 2, 3, 0);
  return std::make_unique<LocalMlpField>(dim, 2, std::vector<int>(2, which == 1 ? 16 : 64), Activation::kTanh, 0);
}
const char* local_model_name(int which) {
  return which == 0 ? "local-bilinear k2 m3" : which == 1 ? "local-mlp k2 16,16" : "local-mlp k2 64,64";
}
Mat grid_states(int dim, long n, std::uint64_t seed) {
  Rng rng(seed);
  Mat Z(dim, n);
  for (auto& v : Z.reshaped()) v = rng.uniform(-8, 12);
  return Z;
}

void BM_LocalFieldEval(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0)), dim = static_cast<int>(state.range(1));
  const long n = state.range(2);
  auto f = local_model(which, dim);
  const Mat Z = grid_states(dim, n, 1);
  Mat F(dim, n);
  for (auto _ : state) {
    f->eval(Z, F);
    benchmark::DoNotOptimize(F.data());
  }
  state.SetLabel(local_model_name(which));
  state.SetItemsProcessed(state.iterations() * n * dim);  // sites
}

void BM_LocalFieldVjp(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0)), dim = static_cast<int>(state.range(1));
  const long n = state.range(2);
  auto f = local_model(which, dim);
  const Mat Z = grid_states(dim, n, 1), U = grid_states(dim, n, 2);
  Mat Z_bar = Mat::Zero(dim, n);
  Vec theta_bar = Vec::Zero(f->num_params());
  for (auto _ : state) {
    f->vjp(Z, U, Z_bar, &theta_bar);
    benchmark::DoNotOptimize(Z_bar.data());
  }
  state.SetLabel(local_model_name(which));
  state.SetItemsProcessed(state.iterations() * n * dim);
}

void BM_StabilityGrid(benchmark::State& state) {
  const ButcherTableau t = named_tableau("dopri8");
  ComplexGrid g;  // 401 x 401, the report's default
  for (auto _ : state) benchmark::DoNotOptimize(stability_modulus_on_grid(t, g).data());
  state.SetItemsProcessed(state.iterations() * g.num_re * g.num_im);
}

void BM_OrderConditions(benchmark::State& state) {
  const ButcherTableau t = named_tableau("dopri8");
  for (auto _ : state) benchmark::DoNotOptimize(order_conditions(t, static_cast<int>(state.range(0))));
}

void BM_OrderConditionSystem(benchmark::State& state) {  // residuals + Jacobian, as project_order uses them
  const Scheme s(kStages);
  ButcherTableau t;
  t.A = s.A;
  t.b = s.b;
  t.c = s.A.rowwise().sum();
  for (auto _ : state) benchmark::DoNotOptimize(order_condition_system(t, static_cast<int>(state.range(0))));
}

}  // namespace

BENCHMARK(BM_RkStepForward)->ArgNames({"model", "batch"})->Args({0, kBatch})->Args({1, kBatch})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RkStepReverse)->ArgNames({"model", "batch"})->Args({0, kBatch})->Args({1, kBatch})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrainingIteration)->ArgNames({"model", "batch", "stages"})
    ->Args({0, kBatch, kStages})->Args({1, kBatch, kStages})->Unit(benchmark::kMillisecond);
// Cost against samples (500 .. 32000, TRK10) and stages (4 .. 16, 2000 samples): bench_scaling.sh fits the lines.
void scaling_args(benchmark::internal::Benchmark* b) {
  for (int m : {0, 1}) {
    for (long n : {500, 1000, 2000, 4000, 8000, 16000, 32000}) b->Args({m, n, kStages});
    for (int q : {4, 6, 8, 10, 12, 14, 16}) b->Args({m, kBatch, q});
  }
}
BENCHMARK(BM_TrainingIteration)->Name("BM_TrainingScaling")->ArgNames({"model", "batch", "stages"})
    ->Apply(scaling_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AdaptiveDopri8)->ArgNames({"model", "batch"})->Args({0, kBatch})->Args({1, 250})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LocalFieldEval)->ArgNames({"model", "dim", "batch"})->ArgsProduct({{0, 1, 2}, {40, 320}, {kBatch}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LocalFieldVjp)->ArgNames({"model", "dim", "batch"})->ArgsProduct({{0, 1, 2}, {40, 320}, {kBatch}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StabilityGrid)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OrderConditions)->ArgName("max_order")->Arg(8)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OrderConditionSystem)->ArgName("max_order")->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond);
