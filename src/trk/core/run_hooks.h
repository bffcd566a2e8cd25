// Checkpointing and stopping of long runs (fit, identify): the library writes no file, it offers its state at
// the top of every training iteration, and `save` writes it. A run resumed from a saved state ends with the same
// numbers as one that was never stopped.
#pragma once
#include <functional>

namespace trk {

template <class Checkpoint>
struct RunHooks {
  int checkpoint_every = 0;                         // iterations (any phase) between saves; 0: none
  std::function<void(const Checkpoint&)> save;      // also called when a stop is requested
  std::function<bool()> stop_requested;             // polled every iteration; true: save, status interrupted
  const Checkpoint* resume = nullptr;               // continue from this state (same data and options)
};

// The iteration boundaries of a run, counted over all its phases.
class Boundaries {
 public:
  // At the top of an iteration: saves every checkpoint_every boundaries and when a stop is requested (then true:
  // the run ends here). `make_state` builds the state only when it is saved.
  template <class Checkpoint, class MakeState>
  bool stop_here(const RunHooks<Checkpoint>& hooks, MakeState&& make_state) {
    const bool stop = hooks.stop_requested && hooks.stop_requested();
    const bool periodic = hooks.checkpoint_every > 0 && count_ > 0 && count_ % hooks.checkpoint_every == 0;
    ++count_;
    if ((stop || periodic) && hooks.save) hooks.save(make_state());
    return stop;
  }

 private:
  long count_ = 0;
};

}  // namespace trk
