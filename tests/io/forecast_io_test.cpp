// forecast.h5 (io/forecast_io.h): written and read back exactly, NaN kept, the layout as h5py sees it, and errors
// naming the file.
#include "trk/io/forecast_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "trk/io/hdf5_util.h"

namespace fs = std::filesystem;

namespace trk::io {
namespace {

ForecastFile sample() {
  ForecastFile f;
  f.system = "lorenz63";
  f.solver = "trk10";
  f.model = "bilinear";
  f.data = "data.h5";
  ForecastSummary& s = f.forecast;
  s.h = 0.2;
  s.steps = 3;
  s.start_trajectory = {0, 0};
  s.start_index = {0, 7};
  s.start_time = Vec::LinSpaced(2, 0.0, 1.4);
  for (int k = 0; k <= 3; ++k) {
    s.truth.push_back(Mat::Random(3, 2));
    s.predicted.push_back(Mat::Random(3, 2));
  }
  s.predicted[3](1, 1) = std::nan("");
  s.rmse = Vec::LinSpaced(4, 0.0, 3.0);
  s.rmse(3) = std::nan("");
  s.num_finite = {2, 2, 2, 1};
  return f;
}

TEST(ForecastIo, RoundTrip) {
  const fs::path p = fs::temp_directory_path() / "trk_forecast_io_test.h5";
  const ForecastFile f = sample();
  write_forecast(p, f);
  const ForecastFile g = read_forecast(p);
  EXPECT_EQ(g.solver, "trk10");
  EXPECT_EQ(g.model, "bilinear");
  EXPECT_EQ(g.data, "data.h5");
  EXPECT_EQ(g.forecast.steps, 3);
  EXPECT_EQ(g.forecast.h, 0.2);
  EXPECT_EQ(g.forecast.start_index, f.forecast.start_index);
  for (int k = 0; k <= 3; ++k) {
    EXPECT_EQ(g.forecast.truth[k], f.forecast.truth[k]);
    EXPECT_TRUE(g.forecast.predicted[k].isApprox(f.forecast.predicted[k]) || k == 3);
  }
  EXPECT_TRUE(std::isnan(g.forecast.predicted[3](1, 1)));
  EXPECT_EQ(g.forecast.predicted[3](0, 1), f.forecast.predicted[3](0, 1));
  EXPECT_TRUE(g.forecast.diverged[3]);
  EXPECT_FALSE(g.forecast.diverged[2]);
  EXPECT_EQ(g.forecast.num_finite, f.forecast.num_finite);
  // h5py's view: predicted[j, k, i] = component i of start j at lead k.
  const h5::File file = h5::File::open_read(p);
  const h5::Array a = file.read_array("predicted");
  ASSERT_EQ(a.shape, (std::vector<size_t>{2, 4, 3}));
  EXPECT_EQ(a.values[(1 * 4 + 2) * 3 + 0], f.forecast.predicted[2](0, 1));
  fs::remove(p);
}

TEST(ForecastIo, ErrorsNameTheFile) {
  const fs::path p = fs::temp_directory_path() / "trk_forecast_io_not.h5";
  h5::write_file_atomic(p, [](h5::Group& root) { root.write_string_attribute("format", "trk-model"); });
  try {
    read_forecast(p);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("trk-forecast"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

}  // namespace
}  // namespace trk::io
