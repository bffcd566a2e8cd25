// The outputs of trk report stability / order (io/stability_io.h) read back as written, and the sources a
// --scheme may name (io/scheme_source.h): built-in names, JSON tableaux, identify.json, fit.json rows, model.h5.
#include "trk/io/stability_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "trk/io/json_io.h"
#include "trk/io/scheme_source.h"
#include "trk/tableau/named_tableaux.h"

namespace fs = std::filesystem;

namespace trk::io {
namespace {

fs::path fresh(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("trk_stability_io_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(StabilityIo, RoundTrip) {
  const fs::path dir = fresh("roundtrip");
  const StabilityAnalysis s = analyse_stability(named_tableau("rk4"), 41);
  write_stability(dir, s);
  const StabilityAnalysis r = read_stability(dir);
  EXPECT_EQ(r.tableau.A, s.tableau.A);
  EXPECT_EQ(r.real_axis_interval, s.real_axis_interval);
  EXPECT_EQ(r.imag_axis_interval, s.imag_axis_interval);
  EXPECT_EQ(r.polynomial, s.polynomial);
  EXPECT_EQ(r.grid.num_re, 41);
  EXPECT_EQ(r.modulus, s.modulus);
  ASSERT_EQ(r.boundary.size(), s.boundary.size());
  EXPECT_EQ(r.boundary[0], s.boundary[0]);
  // Euler's imaginary interval is 0 and dopri8's real one finite; an unbounded interval is written "inf".
  write_stability(dir, analyse_stability(named_tableau("euler"), 11));
  EXPECT_EQ(read_stability(dir).imag_axis_interval, 0.0);
}

TEST(OrderIo, RoundTrip) {
  const fs::path dir = fresh("order");
  const OrderAnalysis a = analyse_order(named_tableau("dopri5"), 6);
  write_order(dir, a);
  const OrderAnalysis r = read_order(dir);
  EXPECT_EQ(r.order, 5);
  EXPECT_EQ(r.max_order, 6);
  ASSERT_EQ(r.conditions.rows.size(), a.conditions.rows.size());
  EXPECT_EQ(r.conditions.rows.back().residual, a.conditions.rows.back().residual);
  EXPECT_EQ(r.conditions.rows.back().label, a.conditions.rows.back().label);
  EXPECT_EQ(r.conditions.max_abs_residual_by_order, a.conditions.max_abs_residual_by_order);
}

TEST(SchemeSource, NamesJsonIdentifyAndFitRows) {
  const fs::path dir = fresh("sources");
  EXPECT_EQ(resolve_scheme_source("rk4").A, named_tableau("rk4").A);
  const json rk4 = tableau_to_json(named_tableau("rk4"));
  const json heun = tableau_to_json(named_tableau("heun"));
  write_json_atomic(dir / "tableau.json", rk4);
  EXPECT_EQ(resolve_scheme_source((dir / "tableau.json").string()).b, named_tableau("rk4").b);
  write_json_atomic(dir / "identify.json",
                    {{"format", "trk-identify"}, {"format_version", 1}, {"solver", "trk2"}, {"h", 0.2}, {"tableau", heun}});
  const ButcherTableau t = resolve_scheme_source((dir / "identify.json").string());
  EXPECT_EQ(t.A, named_tableau("heun").A);
  EXPECT_EQ(t.name, "trk2 h=0.2 (identify)");
  write_json_atomic(dir / "dopri8.json", {{"format", "trk-identify"}, {"format_version", 1}, {"solver", "dopri8"}});
  EXPECT_THROW(resolve_scheme_source((dir / "dopri8.json").string()), std::runtime_error);
  const json row1 = {{"h", 0.1}, {"scheme", "trk4"}, {"trained", true}, {"tableau", heun}};
  const json row2 = {{"h", 0.1}, {"scheme", "rk4"}, {"trained", false}, {"tableau", rk4}};
  const json row3 = {{"h", 0.17}, {"scheme", "trk4"}, {"trained", true}, {"tableau", rk4}};
  write_json_atomic(dir / "fit.json", {{"format", "trk-fit"}, {"format_version", 1}, {"rows", {row1, row2, row3}}});
  const std::string fit = (dir / "fit.json").string();
  EXPECT_EQ(resolve_scheme_source(fit + "#h=0.1").A, named_tableau("heun").A);  // the trained row of that step
  EXPECT_EQ(resolve_scheme_source(fit + "#h=0.1,scheme=rk4").A, named_tableau("rk4").A);
  EXPECT_EQ(resolve_scheme_source(fit + "#h=0.17").name, "trk4 h=0.17 (fit)");
  try {
    resolve_scheme_source(fit);  // three rows: a selector is needed, and the message offers them
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("h=0.17,scheme=trk4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_scheme_source(fit + "#h=0.3"), std::runtime_error);
  EXPECT_THROW(resolve_scheme_source(fit + "#step=1"), std::runtime_error);
  EXPECT_THROW(resolve_scheme_source("no_such_scheme"), std::runtime_error);
}

}  // namespace
}  // namespace trk::io
