// Outcome of a solve: a status instead of an exception when the numerics give out.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace trk {

enum class SolveStatus { kSuccess, kNonFinite, kStepSizeTooSmall, kMaxStepsReached };

inline std::string to_string(SolveStatus s) {
  switch (s) {
    case SolveStatus::kSuccess: return "success";
    case SolveStatus::kNonFinite: return "non_finite";
    case SolveStatus::kStepSizeTooSmall: return "step_size_too_small";
    case SolveStatus::kMaxStepsReached: return "max_steps_reached";
  }
  return "unknown";
}

inline std::optional<SolveStatus> parse_solve_status(std::string_view s) {
  for (auto v : {SolveStatus::kSuccess, SolveStatus::kNonFinite, SolveStatus::kStepSizeTooSmall,
                 SolveStatus::kMaxStepsReached})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

}  // namespace trk
