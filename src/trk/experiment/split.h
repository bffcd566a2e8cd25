// One sampled trajectory cut into train / validation / test (for data with only a training trajectory).
// The trajectory's N samples are split in time order into contiguous blocks
//   train = [0, n_train),  validation = [n_train, n_train + n_val),  test = [n_train + n_val, N)
// with n_train = round(f_train N), n_val = round(f_val N) and the test the rest; sample times kept. Contiguous
// blocks, not shuffled states: a forecast is scored on a stretch of the trajectory that training never saw.
#pragma once
#include <array>
#include <string>

#include "trk/experiment/dataset.h"

namespace trk {

struct SplitFractions {
  double train = 0.7, validation = 0.15, test = 0.15;
  // Each >= 0, train and test > 0, sum 1 (to 1e-9). "" when valid.
  std::string validation_error() const;
};

// `source` must hold exactly one training trajectory and no test trajectory. Every non-empty block has at least
// 2 samples, else std::invalid_argument. A validation fraction of 0 leaves Dataset::validation empty.
// Metadata (system, h, seed, parameters) are kept; generator_json records the split and the source's generator.
Dataset split_trajectory(const Dataset& source, const SplitFractions& fractions, const std::string& source_label);

// A dataset without /validation: the last max(5, round(fraction N)) samples of every training trajectory become its
// validation trajectory (held out of training); std::invalid_argument when fewer than 2 would be left to train on.
Dataset hold_out_validation(const Dataset& data, double fraction);

}  // namespace trk
