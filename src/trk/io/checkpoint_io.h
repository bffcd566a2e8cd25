// Checkpoints of long runs: DIR/checkpoint.h5, the training state of trk identify or trk fit at an iteration
// boundary (experiment/identify.h IdentifyCheckpoint, experiment/fit.h FitCheckpoint) together with the
// configuration it belongs to. Written atomically (temporary name, rename), so a killed run leaves either the
// previous checkpoint or the new one. Doubles are stored as float64, so a resumed run continues bit for bit.
//
// Layout ("trk-checkpoint", version 1): attributes format, format_version, command ("identify" | "fit"),
// configuration (JSON string: the run's options and data, compared on --resume), the scalar fields of the state;
// datasets for its vectors (a list of vectors as a matrix, one vector per row).
#pragma once
#include <filesystem>

#include "trk/experiment/fit.h"
#include "trk/experiment/identify.h"
#include "trk/io/json_io.h"

namespace trk::io {

struct IdentifyCheckpointFile {
  IdentifyCheckpoint state;
  json configuration;
};
void write_identify_checkpoint(const std::filesystem::path& path, const IdentifyCheckpoint& state,
                               const json& configuration);
// Throws std::runtime_error "<file>: <field>: <what was expected>" on a file that is not such a checkpoint.
IdentifyCheckpointFile read_identify_checkpoint(const std::filesystem::path& path);

struct FitCheckpointFile {
  FitCheckpoint state;
  json configuration;
};
void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpoint& state, const json& configuration);
FitCheckpointFile read_fit_checkpoint(const std::filesystem::path& path);

}  // namespace trk::io
