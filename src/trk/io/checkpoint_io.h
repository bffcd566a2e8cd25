// Checkpoints of long runs: DIR/checkpoint.h5, the training state of trk identify or trk fit at an iteration
// boundary (experiment/identify.h IdentifyCheckpoint, experiment/fit.h FitCheckpoint) together with the
// configuration it belongs to. Written atomically (temporary name, rename), so a killed run leaves either the
// previous checkpoint or the new one. Doubles are stored as float64, so a resumed run continues bit for bit.
//
// Layout ("trk-checkpoint", version 2): attributes format, format_version, command ("identify" | "fit"),
// configuration (JSON string: the run's options and data, compared on --resume), data_hash (16 hex digits:
// io::content_hash of the training data, compared on --resume; new in version 2), the scalar fields of the
// state; datasets for its vectors (a list of vectors as a matrix, one vector per row). Version 1 files (no
// data_hash) are still read, with data_hash empty.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>

#include "trk/experiment/fit.h"
#include "trk/experiment/identify.h"
#include "trk/io/json_io.h"

namespace trk::io {

struct IdentifyCheckpointFile {
  IdentifyCheckpoint state;
  json configuration;
  std::optional<std::uint64_t> data_hash;  // empty: a version 1 checkpoint, written before the hash was stored
};
void write_identify_checkpoint(const std::filesystem::path& path, const IdentifyCheckpoint& state,
                               const json& configuration, std::uint64_t data_hash);
// Throws std::runtime_error "<file>: <field>: <what was expected>" on a file that is not such a checkpoint.
IdentifyCheckpointFile read_identify_checkpoint(const std::filesystem::path& path);

struct FitCheckpointFile {
  FitCheckpoint state;
  json configuration;
  std::optional<std::uint64_t> data_hash;  // as above
};
void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpoint& state, const json& configuration,
                          std::uint64_t data_hash);
FitCheckpointFile read_fit_checkpoint(const std::filesystem::path& path);

}  // namespace trk::io
