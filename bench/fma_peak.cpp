// Peak double-precision FLOP/s of one core: independent chains of fused multiply-adds on the widest vectors the
// build targets (AVX-512, else AVX2/FMA, else scalar), enough chains to cover the FMA latency on every port.
// An FMA on a vector of w doubles counts 2 w flops. The result is the reference of "fraction of peak" in
// results/bench.md.
#include <benchmark/benchmark.h>
#include <immintrin.h>

namespace {

constexpr int kChains = 16;  // >= latency (4) x FMA ports (2), in registers (32 zmm/ymm with AVX-512VL)
constexpr long kInner = 1 << 12;

#if defined(__AVX512F__)
using V = __m512d;
constexpr int kWidth = 8;
inline V splat(double x) { return _mm512_set1_pd(x); }
inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
inline double hsum(V v) { return _mm512_reduce_add_pd(v); }
constexpr const char* kIsa = "avx512";
#elif defined(__FMA__)
using V = __m256d;
constexpr int kWidth = 4;
inline V splat(double x) { return _mm256_set1_pd(x); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
inline double hsum(V v) {
  alignas(32) double t[4];
  _mm256_store_pd(t, v);
  return t[0] + t[1] + t[2] + t[3];
}
constexpr const char* kIsa = "avx2_fma";
#else
using V = double;
constexpr int kWidth = 1;
inline V splat(double x) { return x; }
inline V fma(V a, V b, V c) { return a * b + c; }
inline double hsum(V v) { return v; }
constexpr const char* kIsa = "scalar";
#endif

void BM_PeakFma(benchmark::State& state) {
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = splat(1.0 + 1e-3 * i);
  const V a = splat(0.999999), b = splat(1e-7);
  for (auto _ : state) {
    for (long k = 0; k < kInner; ++k)
      for (int i = 0; i < kChains; ++i) acc[i] = fma(acc[i], a, b);
    for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
  }
  double s = 0;
  for (int i = 0; i < kChains; ++i) s += hsum(acc[i]);
  benchmark::DoNotOptimize(s);
  state.SetLabel(kIsa);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kWidth * kChains * kInner * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_PeakFma)->Unit(benchmark::kMicrosecond);
