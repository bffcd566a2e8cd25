// Outcomes as enums with their names (enum_names.h): a solve's status instead of an exception when the numerics
// give out; a training run's status; what training does on a non-finite loss.
#pragma once
#include "trk/core/enum_names.h"

namespace trk {

enum class SolveStatus { kSuccess, kNonFinite, kStepSizeTooSmall, kMaxStepsReached };
template <>
struct EnumNames<SolveStatus> {
  static constexpr std::pair<SolveStatus, const char*> items[] = {{SolveStatus::kSuccess, "success"},
                                                                  {SolveStatus::kNonFinite, "non_finite"},
                                                                  {SolveStatus::kStepSizeTooSmall, "step_size_too_small"},
                                                                  {SolveStatus::kMaxStepsReached, "max_steps_reached"}};
};

// completed; non_finite_loss: training stopped on non-finite losses, the last good model kept; interrupted:
// stopped on request after a checkpoint (no results); poor_fit: training ended, but the model's validation loss is
// far above what the data allow (identify.h); budget_exceeded: training ended early because it went over its budget
// (identify's max_nfe_per_step or max_train_seconds), the model at that point evaluated and saved.
enum class RunStatus { kCompleted, kNonFiniteLoss, kInterrupted, kPoorFit, kBudgetExceeded };
template <>
struct EnumNames<RunStatus> {
  static constexpr std::pair<RunStatus, const char*> items[] = {{RunStatus::kCompleted, "completed"},
                                                                {RunStatus::kNonFiniteLoss, "non_finite_loss"},
                                                                {RunStatus::kInterrupted, "interrupted"},
                                                                {RunStatus::kPoorFit, "poor_fit"},
                                                                {RunStatus::kBudgetExceeded, "budget_exceeded"}};
};

// A non-finite loss, gradient or step: stop (after 10 in a row, keep the last good parameters) or lower_lr
// (restore the last good parameters and halve the learning rate, up to 10 times, then as stop).
enum class OnDivergence { kStop, kLowerLr };
template <>
struct EnumNames<OnDivergence> {
  static constexpr std::pair<OnDivergence, const char*> items[] = {{OnDivergence::kStop, "stop"},
                                                                   {OnDivergence::kLowerLr, "lower_lr"}};
};

}  // namespace trk
