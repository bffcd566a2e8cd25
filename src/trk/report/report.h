// The report folder: every table (Markdown and JSON), every plot (data, gnuplot script, SVG when gnuplot is
// installed) and index.md, the page a person reads first. Written from collected results; nothing re-trained.
// Results with several datasets add reliability_table.md/.json and its plots (reliability.h) and draw the plots of
// single cells for the first dataset only.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "trk/report/results.h"

namespace trk::report {

struct ReportOptions {
  bool render = true;  // run gnuplot when available
  std::vector<std::string> sources;  // the --results arguments, listed in the index
};

struct ReportSummary {
  int tables = 0, plots = 0, rendered = 0;
  std::vector<std::string> warnings;  // e.g. gnuplot missing
};

// Creates dir if needed; every file written to a temporary name and renamed.
ReportSummary write_report(const Results& results, const std::filesystem::path& dir, const ReportOptions& options,
                           const std::function<void(const std::string&)>& log = {});

}  // namespace trk::report
