// Options through their one declaration: config keys read with range checks as the type they are read into,
// unknown keys refused naming file and key, the echo has one key per field and reads back to the same options.
#include "trk/io/options_io.h"

#include <gtest/gtest.h>

#include "trk/experiment/fit.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/identify.h"

namespace trk::io {
namespace {

std::string refusal(const json& j) {
  IdentifyOptions o;
  try {
    read_fields(j, "cfg.json: training", o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(OptionsIo, NumbersAreRangeCheckedAsTheirType) {
  EXPECT_NE(refusal({{"iterations", 4294967297LL}}).find("cfg.json: training.iterations: 4294967297 is out of range"),
            std::string::npos);
  EXPECT_NE(refusal({{"iterations", 2.9}}).find("training.iterations: expected an integer, found 2.9"),
            std::string::npos);
  EXPECT_NE(refusal({{"iterations", 1e308}}).find("out of range"), std::string::npos);
  EXPECT_NE(refusal({{"iterations", -3000000000LL}}).find("out of range"), std::string::npos);
  EXPECT_NE(refusal({{"iterations", "many"}}).find("wrong type"), std::string::npos);
  EXPECT_NE(refusal({{"learning_rate", "fast"}}).find("training.learning_rate: wrong type"), std::string::npos);
  EXPECT_NE(refusal({{"schedule", "linear"}}).find("unknown value 'linear' (constant, cosine, exponential)"),
            std::string::npos);
  EXPECT_NE(refusal({{"widths", {64, 1.5}}}).find("training.widths[1]"), std::string::npos);
  EXPECT_NE(refusal({{"itterations", 5}}).find("training.itterations: unknown key"), std::string::npos);
  EXPECT_EQ(refusal({{"iterations", 3.0}, {"seed", 9007199254740993LL}}), "");  // whole numbers are integers
}

TEST(OptionsIo, EchoHasOneKeyPerFieldAndReadsBack) {
  IdentifyOptions o;
  o.iterations = 7;
  o.adam.schedule = LrSchedule::kExponential;
  o.on_divergence = OnDivergence::kLowerLr;
  o.model_options.widths = {8, 4};
  o.sindy.iterations = 3;  // settable and echoed under the same key
  o.threads = 2;           // not echoed: the numbers do not depend on it
  const json echo = fields_to_json(o);
  EXPECT_EQ(echo.at("iterations"), 7);
  EXPECT_EQ(echo.at("schedule"), "exponential");
  EXPECT_EQ(echo.at("on_divergence"), "lower_lr");
  EXPECT_EQ(echo.at("sindy_iterations"), 3);
  EXPECT_TRUE(echo.contains("model_seed"));
  EXPECT_FALSE(echo.contains("threads"));
  IdentifyOptions back;
  back.threads = 2;
  read_fields(echo, "echo", back);
  EXPECT_EQ(fields_to_json(back), echo);
  // Every options struct: the echo reads back into the same echo.
  FitOptions f;
  f.candidate_margins = {0.0, 0.01};
  f.continuation = false;
  FitOptions f2;
  read_fields(fields_to_json(f), "echo", f2);
  EXPECT_EQ(fields_to_json(f2), fields_to_json(f));
  GenerateOptions g;
  g.noise = 0.5;
  GenerateOptions g2;
  read_fields(fields_to_json(g), "echo", g2);
  EXPECT_EQ(g2.noise, 0.5);
}

}  // namespace
}  // namespace trk::io
