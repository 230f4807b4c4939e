// The float-series chunk codec of engine/series_codec.h: encode and decode speed in points
// per second and encoded bytes per point, for a training curve (float32 losses, steps
// 1, 2, 3..., a ~10 ms clock) and for full-precision random values.
//
//   build-bench/bench/series_bench --benchmark_repetitions=3
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/series_codec.h"

namespace runlog::engine {
namespace {

constexpr size_t kChunkPoints = 1024;

std::vector<SeriesPoint> Points(bool training_curve) {
  std::mt19937_64 rng(42);
  std::normal_distribution<float> noise(0, 0.02f);
  std::vector<SeriesPoint> pts;
  int64_t t = 1764408846000000;
  for (size_t i = 0; i < kChunkPoints; ++i) {
    t += 10000 + static_cast<int64_t>(rng() % 200);
    double v =
        training_curve
            ? static_cast<double>(2.5f * std::exp(-static_cast<float>(i) / 3000.f) + noise(rng))
            : std::bit_cast<double>((rng() >> 2) | 0x3ff0000000000000ull);
    pts.push_back({static_cast<double>(i + 1), t, v});
  }
  return pts;
}

void BM_SeriesEncode(benchmark::State& state) {
  const std::vector<SeriesPoint> pts = Points(state.range(0) == 1);
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeSeriesChunk(pts, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pts.size()));
  state.counters["bytes_per_point"] = static_cast<double>(out.size()) / pts.size();
}
BENCHMARK(BM_SeriesEncode)->ArgName("training_curve")->Arg(1)->Arg(0);

void BM_SeriesDecode(benchmark::State& state) {
  const std::vector<SeriesPoint> pts = Points(state.range(0) == 1);
  std::string enc;
  EncodeSeriesChunk(pts, &enc);
  std::vector<SeriesPoint> out;
  out.reserve(pts.size());
  for (auto _ : state) {
    out.clear();
    Status s = DecodeSeriesChunk(
        std::span(reinterpret_cast<const uint8_t*>(enc.data()), enc.size()), &out);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pts.size()));
  state.counters["bytes_per_point"] = static_cast<double>(enc.size()) / pts.size();
}
BENCHMARK(BM_SeriesDecode)->ArgName("training_curve")->Arg(1)->Arg(0);

}  // namespace
}  // namespace runlog::engine

BENCHMARK_MAIN();
