// Checkpoints of long runs: DIR/checkpoint.h5, the training state of trk identify or trk fit at an iteration
// boundary (experiment/identify.h IdentifyCheckpoint, experiment/fit.h FitCheckpoint) together with the
// configuration it belongs to. Written atomically (temporary name, rename), so a killed run leaves either the
// previous checkpoint or the new one. Doubles are stored as float64, so a resumed run continues bit for bit.
//
// Layout ("trk-checkpoint", version 3): attributes format, format_version, command ("identify" | "fit"),
// configuration (JSON string: the run's options and data, compared on --resume), data_hash (16 hex digits:
// io::content_hash of the training data, compared on --resume); then the state as its visit_state lists it
// (experiment/identify.h, experiment/fit.h): numbers, flags and names as attributes, vectors as datasets (a list of
// vectors as a matrix, one vector per row), nested states as groups, a list of states as a group of groups "0",
// "1", ... with a "size" attribute. Versions 1 and 2 (written before the optimiser states had their own
// structs) are refused with one line.
#pragma once
#include <cstdint>
#include <filesystem>

#include "trk/experiment/fit.h"
#include "trk/experiment/identify.h"
#include "trk/io/json_io.h"

namespace trk::io {

struct IdentifyCheckpointFile {
  IdentifyCheckpoint state;
  json configuration;
  std::uint64_t data_hash = 0;
};
void write_identify_checkpoint(const std::filesystem::path& path, const IdentifyCheckpoint& state,
                               const json& configuration, std::uint64_t data_hash);
// Throws std::runtime_error "<file>: <field>: <what was expected>" on a file that is not such a checkpoint.
IdentifyCheckpointFile read_identify_checkpoint(const std::filesystem::path& path);

struct FitCheckpointFile {
  FitCheckpoint state;
  json configuration;
  std::uint64_t data_hash = 0;
};
void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpoint& state, const json& configuration,
                          std::uint64_t data_hash);
FitCheckpointFile read_fit_checkpoint(const std::filesystem::path& path);

}  // namespace trk::io
