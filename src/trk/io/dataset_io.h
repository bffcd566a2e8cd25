// Datasets on disk: HDF5 files in the layout "trk-dataset", version 1 (the first box of
// generate -> dataset.h5 -> fit / identify). Files from other tools (h5py, MATLAB) are read as well.
//
// Layout (C order; h5py shapes):
//   /                attributes  format = "trk-dataset", format_version = 1 (integer), system (string),
//                                h (number > 0, the sampling step), seed (integer),
//                                parameters (string: JSON object of numbers, e.g. {"sigma":10,"rho":28}),
//                                generator (string: JSON object, kept verbatim)
//   /train/states    float [num_trajectories, num_times, dim]    states[i, k, :] = trajectory i at t[k]
//   /train/t         float [num_times]
//   /test/states, /test/t                                        the same; test is required, dim as train
//   /validation/states, /validation/t                            optional, the same layout (trk generate --split);
//                                                                readers that do not know it ignore it
// In memory trajectory i is the dim x num_times matrix Split::states[i] (column k = state at t(k)). Its
// column-major storage is exactly the C-order block states[i, :, :], and a MATLAB array of size
// [dim, num_times, num_trajectories] is stored as [num_trajectories, num_times, dim].
//
// The reader accepts: string attributes of variable or fixed length; numeric attributes of any integer or
// float type (seed may be a whole-valued float); states and t as float32 or float64; 2-D states
// [num_times, dim] as one trajectory; t of shape [1, n] or [n, 1]. Missing attributes take defaults
// (system "unknown", seed 0, parameters {}, generator "{}"); a missing t becomes t(k) = k h; a missing h is the
// spacing of /train/t (h5py writes t and no h).
// It refuses, with a one-line std::runtime_error "<file>: <object>: <what was expected>": a missing, empty,
// non-HDF5 or truncated file; states declaring more values than io::memory_limit() holds (two float64 copies,
// checked before reading them); h missing with no /train/t, h <= 0 or not finite; t not uniform with the step h
// (each t(k+1) - t(k) within 1e-6 h of h, plus the rounding of float32 or float64 t values);
// format other than "trk-dataset"; format_version
// other than 1 (above 1: "written by a newer trk"); a missing train or test group or states; states of rank
// other than 2 or 3 or of a non-float type; dim 0; no trajectories; fewer than 2 time samples; t whose length
// differs from the times axis, or not strictly increasing; NaN or Inf in states or t; test dim != train dim;
// parameters that are not a JSON object of numbers; generator that is not a JSON object.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "trk/experiment/dataset.h"

namespace trk::io {

inline constexpr std::string_view kDatasetFormat = "trk-dataset";
inline constexpr int kDatasetFormatVersion = 1;

// Writes `dataset` to `path` atomically (temporary file, then rename). The same Dataset always gives the same
// bytes. Refuses (std::runtime_error naming `path` and the field) a dataset that read_dataset would refuse.
void write_dataset(const std::filesystem::path& path, const Dataset& dataset);

// Reads and checks a dataset; see the top of this file for what is accepted and what is refused.
// require_test = false (trk generate --from, which splits one trajectory): a missing /test is no error and
// leaves Dataset::test empty.
Dataset read_dataset(const std::filesystem::path& path, bool require_test = true);

// The first problem that makes `dataset` unusable, as "<object>: <what was expected>" (for instance
// "/train/t: expected strictly increasing times, found t(3) = 0.2 after t(2) = 0.3"), or "" when it is valid.
std::string dataset_validation_error(const Dataset& dataset);

// 64-bit FNV-1a hash of what training reads from a dataset: h, then per split (train, test) its num_times, t,
// num_trajectories and every trajectory's dim, num_times and values (the float64 bytes, little-endian). A
// checkpoint stores it so that --resume refuses data whose content changed (same path and shapes or not).
// Metadata (system name, parameters, seed, generator) are not hashed.
std::uint64_t content_hash(const Dataset& dataset);

}  // namespace trk::io
