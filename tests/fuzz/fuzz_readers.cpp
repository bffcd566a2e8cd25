// libFuzzer driver for the readers of user files (built by scripts/fuzz_readers.sh, not by CMake): the bytes of
// one input are written to a file and read by the reader chosen at build time with -DTRK_FUZZ_<TARGET>:
//   DATASET     io::read_dataset                        (seed corpus: a generated dataset)
//   CHECKPOINT  io::read_identify_checkpoint            (seed corpus: a checkpoint of trk identify)
//   TABLEAU     io::read_json_file + tableau_from_json  (seed corpus: the JSON of rk4)
// A refusal is a std::exception with a one-line message naming the file; anything else (a crash, a sanitizer
// report, a multi-line or anonymous message) stops the run.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/io/json_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =  // under TMPDIR, else /tmp
      (std::filesystem::temp_directory_path() / ("trk_fuzz_input_" + std::to_string(::getpid()))).string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
#if defined(TRK_FUZZ_DATASET)
    trk::io::read_dataset(path);
#elif defined(TRK_FUZZ_CHECKPOINT)
    trk::io::read_identify_checkpoint(path);
#elif defined(TRK_FUZZ_TABLEAU)
    trk::io::tableau_from_json(trk::io::read_json_file(path), path);
#else
#error "define TRK_FUZZ_DATASET, TRK_FUZZ_CHECKPOINT or TRK_FUZZ_TABLEAU"
#endif
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    if (msg.find('\n') != std::string::npos || msg.find(path) == std::string::npos) {
      std::fprintf(stderr, "bad refusal message: %s\n", msg.c_str());
      std::abort();
    }
  }
  return 0;
}
