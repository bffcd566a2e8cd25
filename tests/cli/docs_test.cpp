// The documentation against the binary and the tree: docs/cli-reference.md is what
// scripts/make_cli_reference.sh writes from the built trk's --help; every relative link of every tracked (or new,
// not ignored) *.md file resolves; every --option named in README.md or docs/ is accepted by some subcommand.
// The files are found when the test runs, so pages added later are checked too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_trk.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

using trk::testing::run_command;
using trk::testing::RunResult;
using trk::testing::slurp;

const fs::path kRoot = TRK_SOURCE_DIR;

// The subcommands whose --help the reference holds ("" is the top level).
const std::vector<std::string> kCommands = {"", "generate", "fit", "identify", "report", "report stability",
                                            "report order"};

// Options named in the docs that belong to other programs (cmake, ctest, Slurm, GNU parallel, GoogleTest, the
// project's scripts: jobs.sh --count, bench_scaling.sh --lorenz96), not to trk.
const std::set<std::string> kForeignOptions = {
    "--build", "--target", "--test-dir", "--output-on-failure", "--progress", "--parsable", "--array",
    "--dependency", "--wrap", "--gtest_filter", "--lorenz96", "--count", "--no-print-directory", "--exclude-standard"};

// Markdown files of the tree: tracked or untracked but not ignored (git), else every *.md outside build and output
// folders.
std::vector<fs::path> markdown_files() {
  std::vector<fs::path> files;
  const RunResult r = run_command("git ls-files --cached --others --exclude-standard -- '*.md'");
  if (r.code == 0 && !r.out.empty()) {
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && fs::exists(kRoot / line)) files.push_back(kRoot / line);
    return files;
  }
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name == ".git" || name.rfind("build", 0) == 0 || name == "out")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".md") files.push_back(it->path());
  }
  return files;
}

// The text outside fenced code blocks, with inline code spans removed (code is not a link).
std::string prose_of(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 3, "```") == 0) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    out += std::regex_replace(line, std::regex("`[^`]*`"), "") + "\n";
  }
  return out;
}

TEST(Docs, CliReferenceIsWhatTheBinaryPrints) {
  const fs::path fresh = fs::temp_directory_path() / ("trk_cli_reference_" + std::to_string(::getpid()) + ".md");
  const RunResult r =
      run_command("scripts/make_cli_reference.sh '" + std::string(TRK_BINARY) + "' '" + fresh.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string want = slurp(fresh), have = slurp(kRoot / "docs/cli-reference.md");
  fs::remove(fresh);
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(have, want) << "docs/cli-reference.md is not the binary's --help: run scripts/make_cli_reference.sh";
}

TEST(Docs, EveryRelativeLinkResolves) {
  const std::vector<fs::path> files = markdown_files();
  ASSERT_FALSE(files.empty());
  // [text](target) and [text](<target>), the target up to a space (a title may follow) or the closing parenthesis.
  const std::regex link(R"(\]\(\s*<?([^)\s>]*)>?[^)]*\))");
  size_t checked = 0;
  for (const fs::path& file : files) {
    const std::string text = prose_of(slurp(file));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
      std::string target = (*it)[1].str();
      if (target.empty() || target[0] == '#' || std::regex_search(target, std::regex("^[a-zA-Z][a-zA-Z0-9+.-]*:")))
        continue;  // an anchor of the same page, or a URL
      target = target.substr(0, target.find_first_of("#?"));
      const fs::path resolved = target[0] == '/' ? kRoot / target.substr(1) : file.parent_path() / target;
      ++checked;
      EXPECT_TRUE(fs::exists(resolved)) << fs::relative(file, kRoot).string() << ": link to " << (*it)[1].str()
                                        << " does not resolve";
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Docs, EveryOptionNamedIsAcceptedBySomeSubcommand) {
  const std::regex option(R"((^|[^A-Za-z0-9_-])(--[a-z][a-z0-9_-]*[a-z0-9]))");
  std::set<std::string> accepted;
  for (const std::string& c : kCommands) {
    const RunResult r = run_command("'" + std::string(TRK_BINARY) + "' " + c + " --help");
    ASSERT_EQ(r.code, 0) << c << ": " << r.err;
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), option); it != std::sregex_iterator(); ++it)
      accepted.insert((*it)[2].str());
  }
  ASSERT_TRUE(accepted.count("--solver") && accepted.count("--out")) << "no options found in --help";
  std::vector<fs::path> pages = {kRoot / "README.md"};
  for (const fs::path& f : markdown_files())
    if (fs::relative(f, kRoot).string().rfind("docs/", 0) == 0) pages.push_back(f);
  for (const fs::path& page : pages) {
    if (!fs::exists(page)) continue;
    const std::string text = slurp(page);
    std::istringstream in(text);
    int line_number = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      // A line that runs one of the project's scripts (scripts/*.sh|py, bench/*.py) names that script's options:
      // each must appear in the script's own text.
      std::string script_text;
      const std::regex script(R"(((scripts|bench)/[A-Za-z0-9_.-]+\.(sh|py)))");
      for (auto s = std::sregex_iterator(line.begin(), line.end(), script); s != std::sregex_iterator(); ++s)
        if (fs::exists(kRoot / (*s)[1].str())) script_text += slurp(kRoot / (*s)[1].str());
      for (auto it = std::sregex_iterator(line.begin(), line.end(), option); it != std::sregex_iterator(); ++it) {
        const std::string name = (*it)[2].str();
        if (!script_text.empty() && script_text.find(name) != std::string::npos) continue;
        EXPECT_TRUE(accepted.count(name) || kForeignOptions.count(name))
            << fs::relative(page, kRoot).string() << ":" << line_number << ": " << name
            << " is not an option of any trk subcommand (trk <command> --help)";
      }
    }
  }
}

}  // namespace
}  // namespace trk
