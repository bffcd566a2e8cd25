// Atomic outputs: only a regular file (or nothing) is ever replaced; temporary names stay within NAME_MAX
// and are ones no user would choose; cleanup removes only those of dead trk processes; a refused write leaves no
// folder it created.
#include "trk/io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "trk/io/hdf5_util.h"

namespace trk::io {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("trk_atomic_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The message of the std::runtime_error `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_F(AtomicFileTest, NonRegularTargetsAreRefusedAndLeftAsTheyWere) {
  const fs::path fifo = dir_ / "fifo", folder = dir_ / "folder", link = dir_ / "link_to_fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  fs::create_directory(folder);
  fs::create_symlink(fifo, link);
  for (const fs::path& p : {fifo, folder, link}) {
    SCOPED_TRACE(p);
    const std::string text = error_of([&] { write_text_atomic(p, "x"); });
    EXPECT_NE(text.find(p.string() + ": not a regular file"), std::string::npos) << text;
    const std::string h5 = error_of([&] { h5::write_file_atomic(p, [](h5::Group& g) { g.write_int_attribute("n", 1); }); });
    EXPECT_NE(h5.find("not a regular file"), std::string::npos) << h5;
  }
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  EXPECT_NE(error_of([&] { write_text_atomic(dir_ / "out" / "", "x"); }).find("expected a file name"), std::string::npos);
  EXPECT_NE(error_of([&] { write_text_atomic("", "x"); }).find("expected a file name"), std::string::npos);
  // What may be replaced: nothing, a regular file. A link to a regular file is refused and left (neither it nor
  // its target is replaced).
  const fs::path regular = dir_ / "regular", target = dir_ / "target", to_regular = dir_ / "to_regular";
  std::ofstream(regular) << "old";
  std::ofstream(target) << "kept";
  fs::create_symlink(target, to_regular);
  write_text_atomic(dir_ / "new", "new");
  write_text_atomic(regular, "new");
  EXPECT_NE(error_of([&] { write_text_atomic(to_regular, "new"); }).find("a symbolic link"), std::string::npos);
  EXPECT_EQ(slurp(dir_ / "new"), "new");
  EXPECT_EQ(slurp(regular), "new");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(to_regular)));
  EXPECT_EQ(slurp(target), "kept");
  if (::geteuid() == 0) {  // a device node, as root (mknod)
    const fs::path null = dir_ / "null";
    ASSERT_EQ(::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    EXPECT_NE(error_of([&] { write_text_atomic(null, "x"); }).find("a character device"), std::string::npos);
    EXPECT_TRUE(fs::is_character_file(null));
  }
}

TEST_F(AtomicFileTest, TemporaryNamesFitNameMaxAndAreNoUsersName) {
  const std::string long_name = std::string(200, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9" + std::string(46, 'b') + ".h5";
  ASSERT_EQ(long_name.size(), 255u);  // the longest name a Linux file system takes
  const fs::path t = temporary_name(dir_ / long_name, 4194303, 123456);
  EXPECT_EQ(t.parent_path(), dir_);
  EXPECT_LE(t.filename().string().size(), 255u);
  EXPECT_EQ(t.filename().string().rfind(".trk-tmp.4194303.123456.aaa", 0), 0u) << t;
  write_text_atomic(dir_ / long_name, "long");  // before: "File name too long" from the temporary name
  EXPECT_EQ(slurp(dir_ / long_name), "long");
  // A cut never splits a UTF-8 character: every kept byte sequence is whole.
  for (std::size_t extra = 0; extra < 6; ++extra) {
    const std::string name = std::string(220 + extra, 'x') + "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" + "y";
    const std::string cut = temporary_name(dir_ / name, 1, 0).filename().string();
    EXPECT_LE(cut.size(), 255u);
    EXPECT_NE(static_cast<unsigned char>(cut.back()), 0xc3u) << extra;
  }
}

TEST_F(AtomicFileTest, CleanupRemovesOnlyTemporariesOfDeadTrkProcesses) {
  const long dead = 4194000;  // above any pid in use here (pid_max is 4194304 at most)
  ASSERT_NE(::kill(static_cast<pid_t>(dead), 0), 0);
  const std::vector<std::string> users = {"thesis.tex.tmp.4194000", "model.h5.tmp.4194000", ".trk-tmp.x.0.a",
                                          ".trk-tmp.4194000.0", ".trk-tmp.4194000..a", "trk-tmp.4194000.0.a"};
  for (const auto& name : users) std::ofstream(dir_ / name) << "user";
  const fs::path stale = temporary_name(dir_ / "identify.json", dead, 0);
  const fs::path running = temporary_name(dir_ / "model.h5", ::getppid(), 0);  // a live process's
  std::ofstream(stale) << "stale";
  std::ofstream(running) << "live";
  const fs::path stale_dir = temporary_name(dir_ / "folder", dead, 1), stale_link = temporary_name(dir_ / "l", dead, 2);
  fs::create_directory(stale_dir);  // named like a temporary, but not a regular file: not ours
  fs::create_symlink(dir_ / "thesis.tex.tmp.4194000", stale_link);
  EXPECT_EQ(remove_stale_temporaries(dir_), 1);
  EXPECT_FALSE(fs::exists(stale));
  for (const auto& name : users) EXPECT_EQ(slurp(dir_ / name), "user") << name;
  EXPECT_TRUE(fs::exists(running));
  EXPECT_TRUE(fs::is_directory(stale_dir));
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(stale_link)));
}

TEST_F(AtomicFileTest, FoldersCreatedForARefusedWriteAreRemoved) {
  {
    NewDirectories folders;
    folders.create(dir_ / "a" / "b" / "c");
    EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b" / "c"));
  }
  EXPECT_FALSE(fs::exists(dir_ / "a"));
  {
    NewDirectories folders;
    folders.create(dir_ / "a" / "b");
    std::ofstream(dir_ / "a" / "kept") << "x";  // not empty: stays
  }
  EXPECT_TRUE(fs::exists(dir_ / "a" / "kept"));
  EXPECT_FALSE(fs::exists(dir_ / "a" / "b"));
  {
    NewDirectories folders;
    folders.create(dir_ / "d");
    folders.keep();
  }
  EXPECT_TRUE(fs::is_directory(dir_ / "d"));
}

// What a second SIGINT / SIGTERM during a write removes before the process ends: the temporaries of the files
// being written, not the ones renamed into place or of AtomicFiles gone (their slots are reused).
TEST_F(AtomicFileTest, TemporariesBeingWrittenAreRemovedOnRequest) {
  for (int i = 0; i < 20; ++i) write_text_atomic(dir_ / ("done" + std::to_string(i)), "x");
  AtomicFile a(dir_ / "a"), b(dir_ / "b");
  a.write("1", 1);
  b.write("2", 1);
  ASSERT_TRUE(fs::exists(a.temp_path()));
  ASSERT_TRUE(fs::exists(b.temp_path()));
  remove_temporaries_being_written();
  EXPECT_FALSE(fs::exists(a.temp_path()));
  EXPECT_FALSE(fs::exists(b.temp_path()));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(slurp(dir_ / ("done" + std::to_string(i))), "x");
}

}  // namespace
}  // namespace trk::io

