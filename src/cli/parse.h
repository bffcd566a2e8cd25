// Small parsers shared by the subcommands.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trk/field/systems.h"
#include "trk/io/dataset_io.h"
#include "trk/io/guarded_read.h"

namespace trk::cli {

// "key=value" pairs into parameters; throws std::invalid_argument naming the bad one (a name given twice too).
inline Parameters parse_parameters(const std::vector<std::string>& pairs) {
  Parameters p;
  for (const auto& s : pairs) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--param '" + s + "': expected name=value, e.g. rho=28");
    const std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    if (p.count(key))
      throw std::invalid_argument("--param '" + s + "': " + key + " is given twice; give each parameter once");
    try {
      size_t used = 0;
      const double v = std::stod(value, &used);
      if (used != value.size() || !std::isfinite(v)) throw std::invalid_argument("");
      p[key] = v;
    } catch (const std::exception&) {
      throw std::invalid_argument("--param '" + s + "': value '" + value + "' is not a finite number");
    }
  }
  return p;
}

using io::read_hdf5_guarded;  // trk/io/guarded_read.h

inline Dataset read_dataset_bounded(const std::string& path) {
  return read_hdf5_guarded(path, "a trk-dataset HDF5 file", [&] { return io::read_dataset(path); });
}

// --resume: the checkpoint's data_hash (io::content_hash of the data it was trained on) must be that of the data
// given now (`data_label` names them).
inline void check_resumed_data(const std::string& checkpoint, std::uint64_t saved, std::uint64_t now,
                               const std::string& data_label, const std::string& command) {
  if (saved != now) {
    char hex[2][17];
    std::snprintf(hex[0], sizeof hex[0], "%016llx", static_cast<unsigned long long>(now));
    std::snprintf(hex[1], sizeof hex[1], "%016llx", static_cast<unsigned long long>(saved));
    throw std::invalid_argument(checkpoint + ": data_hash: the data differ from those the checkpoint was trained on (" +
                                data_label + " has content hash " + hex[0] + ", the checkpoint " + hex[1] +
                                "); remove the checkpoint or run without --resume (" + command + ")");
  }
}

}  // namespace trk::cli
