// Dataset files: exact round trip, deterministic bytes, files written by h5py and MATLAB, one-line refusals.
#include "trk/io/dataset_io.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "trk/io/hdf5_util.h"

namespace trk::io {
namespace {

namespace fs = std::filesystem;

Mat trajectory(int dim, int num_times, double phase) {
  Mat x(dim, num_times);
  for (int k = 0; k < num_times; ++k)
    for (int d = 0; d < dim; ++d) x(d, k) = std::sin(phase + 0.37 * k + 1.1 * d) * std::pow(10.0, d - 1);
  return x;
}

Split make_split(int num_trajectories, int num_times, double h, double phase) {
  Split s;
  s.t.resize(num_times);
  for (int k = 0; k < num_times; ++k) s.t(k) = k * h;
  for (int i = 0; i < num_trajectories; ++i) s.states.push_back(trajectory(3, num_times, phase + i));
  return s;
}

// 2 train trajectories of 5 samples and 3 test trajectories of 4 samples, dim 3.
Dataset make_dataset() {
  Dataset d;
  d.system = "lorenz63";
  d.h = 0.01;
  d.seed = -1234567890123;
  d.parameters = {{"sigma", 10.0}, {"rho", 28.0}, {"beta", 8.0 / 3.0}};
  d.generator_json = R"({"integrator": "dopri8", "rtol": 1e-12, "spin_up": 10.0})";
  d.train = make_split(2, 5, d.h, 0.0);
  d.test = make_split(3, 4, d.h, 10.0);
  return d;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- raw HDF5 C API, to write files the way other tools do and to damage valid ones

void replace_attribute(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const void* value,
                       std::vector<hsize_t> dims = {}) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t space = dims.empty() ? H5Screate(H5S_SCALAR)
                             : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t attr = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(attr, 0) << name;
  ASSERT_GE(H5Awrite(attr, mem_type, value), 0) << name;
  H5Aclose(attr);
  H5Sclose(space);
}

void set_double(hid_t loc, const char* name, double v) {
  replace_attribute(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

void set_int(hid_t loc, const char* name, long long v) {
  replace_attribute(loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v);
}

// Variable-length UTF-8, scalar: what h5py writes for a Python str.
void set_vlen_string(hid_t loc, const char* name, const std::string& v) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const char* p = v.c_str();
  replace_attribute(loc, name, type, type, &p);
  H5Tclose(type);
}

// Fixed-length ASCII: what MATLAB writes for a char array.
void set_fixed_string(hid_t loc, const char* name, const std::string& v, H5T_str_t pad = H5T_STR_NULLTERM,
                      std::vector<hsize_t> dims = {}) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, v.size() + (pad == H5T_STR_NULLTERM ? 1 : 0));
  H5Tset_strpad(type, pad);
  std::string buf = v;
  buf.resize(H5Tget_size(type), '\0');
  replace_attribute(loc, name, type, type, buf.data(), dims);
  H5Tclose(type);
}

// Creates (replacing) dataset `path` of file type `file_type` and shape `dims` from doubles.
void put_dataset(hid_t file, const char* path, hid_t file_type, std::vector<hsize_t> dims,
                 const std::vector<double>& values) {
  if (H5Lexists(file, path, H5P_DEFAULT) > 0) H5Ldelete(file, path, H5P_DEFAULT);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(file, path, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0) << path;
  if (!values.empty()) {
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  }
  H5Dclose(ds);
  H5Sclose(space);
}

std::vector<double> ramp(std::size_t n, double scale = 1.0) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<double>(i);
  return v;
}

void edit_file(const fs::path& p, const std::function<void(hid_t)>& edit) {
  hid_t file = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0) << p;
  edit(file);
  ASSERT_GE(H5Fclose(file), 0);
}

class DatasetIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    dir_ = fs::temp_directory_path() / ("trk_dataset_io_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<fs::path> files_in_dir() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path());
    return out;
  }

  fs::path dir_;
};

void expect_same(const Split& a, const Split& b) {
  ASSERT_EQ(a.num_trajectories(), b.num_trajectories());
  EXPECT_EQ(a.t, b.t);
  for (int i = 0; i < a.num_trajectories(); ++i) EXPECT_EQ(a.states[i], b.states[i]) << i;
}

TEST_F(DatasetIo, RoundTripIsExact) {
  const Dataset d = make_dataset();
  const fs::path p = dir_ / "data.h5";
  write_dataset(p, d);
  const Dataset r = read_dataset(p);
  EXPECT_EQ(r.system, d.system);
  EXPECT_EQ(r.h, d.h);
  EXPECT_EQ(r.seed, d.seed);
  EXPECT_EQ(r.parameters, d.parameters);  // 8/3 survives the JSON text exactly
  EXPECT_EQ(r.generator_json, d.generator_json);
  EXPECT_EQ(r.train.num_trajectories(), 2);
  EXPECT_EQ(r.test.num_trajectories(), 3);
  expect_same(r.train, d.train);
  expect_same(r.test, d.test);
  EXPECT_EQ(files_in_dir(), std::vector<fs::path>{p});  // no temporary file left beside it

  // The layout as other tools see it: format attributes and C-order [trajectories, times, dim].
  const h5::File f = h5::File::open_read(p);
  EXPECT_EQ(f.read_string_attribute("format"), "trk-dataset");
  EXPECT_EQ(f.read_int_attribute("format_version"), 1);
  const h5::Array states = f.open_group("test").read_array("states");
  ASSERT_EQ(states.shape, (std::vector<std::size_t>{3, 4, 3}));
  EXPECT_EQ(states.values[(2 * 4 + 1) * 3 + 2], d.test.states[2](2, 1));  // trajectory 2, time 1, component 2
}

TEST_F(DatasetIo, TwoWritesGiveIdenticalBytes) {
  const Dataset d = make_dataset();
  write_dataset(dir_ / "a.h5", d);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // timestamps, if recorded, would now differ
  write_dataset(dir_ / "b.h5", d);
  const std::string a = file_bytes(dir_ / "a.h5"), b = file_bytes(dir_ / "b.h5");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "files differ (" << a.size() << " and " << b.size() << " bytes)";
}

TEST_F(DatasetIo, ReadsFileWrittenLikeH5py) {
  // h5py: str attributes as variable-length UTF-8, np.float32 h, int64 seed, no format attributes,
  // float32 arrays; train/states 2-D [times, dim] (one trajectory).
  const fs::path p = dir_ / "from_python.h5";
  hid_t file = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  set_vlen_string(file, "system", "lorenz63");
  const float h = 0.01f;
  replace_attribute(file, "h", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &h);
  set_int(file, "seed", 7);
  set_vlen_string(file, "parameters", R"({"sigma": 10, "rho": 28, "beta": 2.6666666666666665})");
  set_vlen_string(file, "generator", R"({"tool": "scipy.integrate.solve_ivp", "method": "DOP853"})");
  H5Gclose(H5Gcreate2(file, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Gclose(H5Gcreate2(file, "test", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  put_dataset(file, "train/states", H5T_IEEE_F32LE, {6, 3}, ramp(18, 0.1));
  put_dataset(file, "train/t", H5T_IEEE_F32LE, {6}, ramp(6, 0.01));
  put_dataset(file, "test/states", H5T_IEEE_F32LE, {2, 4, 3}, ramp(24, -0.5));
  put_dataset(file, "test/t", H5T_IEEE_F64LE, {4}, ramp(4, 0.01));
  H5Fclose(file);

  const Dataset d = read_dataset(p);
  EXPECT_EQ(d.system, "lorenz63");
  EXPECT_EQ(d.h, static_cast<double>(0.01f));
  EXPECT_EQ(d.seed, 7);
  EXPECT_EQ(d.parameters.at("sigma"), 10.0);
  EXPECT_EQ(d.parameters.at("beta"), 8.0 / 3.0);
  EXPECT_EQ(d.generator_json, R"({"tool": "scipy.integrate.solve_ivp", "method": "DOP853"})");
  ASSERT_EQ(d.train.num_trajectories(), 1);
  ASSERT_EQ(d.dim(), 3);
  ASSERT_EQ(d.train.num_times(), 6);
  for (int k = 0; k < 6; ++k) {
    EXPECT_EQ(d.train.t(k), static_cast<double>(static_cast<float>(0.01 * k)));
    for (int c = 0; c < 3; ++c)  // row k of the [times, dim] array is column k in memory
      EXPECT_EQ(d.train.states[0](c, k), static_cast<double>(static_cast<float>(0.1 * (3 * k + c)))) << k << c;
  }
  ASSERT_EQ(d.test.num_trajectories(), 2);
  EXPECT_EQ(d.test.states[1](2, 3), static_cast<double>(static_cast<float>(-0.5 * ((1 * 4 + 3) * 3 + 2))));
}

TEST_F(DatasetIo, ReadsFileWrittenLikeMatlab) {
  // MATLAB: char attributes as fixed-length strings, numbers as double 1x1 arrays, column-major arrays
  // (a dim x times x trajectories array is stored as [trajectories, times, dim]), t of size 1 x times.
  const fs::path p = dir_ / "from_matlab.h5";
  hid_t file = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  set_fixed_string(file, "format", "trk-dataset");
  const double one = 1, h = 0.05, seed = 42;
  replace_attribute(file, "format_version", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &one, {1, 1});
  replace_attribute(file, "h", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &h, {1, 1});
  replace_attribute(file, "seed", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &seed, {1, 1});
  set_fixed_string(file, "system", "linear   ", H5T_STR_SPACEPAD, {1});
  set_fixed_string(file, "parameters", R"({"a":-1})", H5T_STR_NULLPAD);
  H5Gclose(H5Gcreate2(file, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Gclose(H5Gcreate2(file, "test", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  put_dataset(file, "train/states", H5T_IEEE_F64BE, {2, 3, 1}, ramp(6));
  put_dataset(file, "train/t", H5T_IEEE_F64LE, {1, 3}, ramp(3, 0.05));
  put_dataset(file, "test/states", H5T_IEEE_F64LE, {1, 3, 1}, ramp(3));
  put_dataset(file, "test/t", H5T_IEEE_F64LE, {3, 1}, ramp(3, 0.05));
  H5Fclose(file);

  const Dataset d = read_dataset(p);
  EXPECT_EQ(d.system, "linear");
  EXPECT_EQ(d.h, 0.05);
  EXPECT_EQ(d.seed, 42);
  EXPECT_EQ(d.parameters, (std::map<std::string, double>{{"a", -1.0}}));
  EXPECT_EQ(d.generator_json, "{}");
  ASSERT_EQ(d.train.num_trajectories(), 2);
  EXPECT_EQ(d.train.states[1](0, 2), 5.0);
  EXPECT_EQ(d.test.t(2), 0.1);
}

TEST_F(DatasetIo, MissingOptionalFieldsTakeDefaults) {
  const fs::path p = dir_ / "data.h5";
  write_dataset(p, make_dataset());
  edit_file(p, [](hid_t f) {
    for (const char* a : {"format", "format_version", "system", "seed", "parameters", "generator"})
      ASSERT_GE(H5Adelete(f, a), 0) << a;
    ASSERT_GE(H5Ldelete(f, "train/t", H5P_DEFAULT), 0);
    ASSERT_GE(H5Ldelete(f, "test/t", H5P_DEFAULT), 0);
  });
  const Dataset d = read_dataset(p);
  EXPECT_EQ(d.system, "unknown");
  EXPECT_EQ(d.seed, 0);
  EXPECT_TRUE(d.parameters.empty());
  EXPECT_EQ(d.generator_json, "{}");
  ASSERT_EQ(d.train.num_times(), 5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(d.train.t(k), k * 0.01);
  EXPECT_EQ(d.test.num_times(), 4);
  EXPECT_EQ(d.train.states[1], make_dataset().train.states[1]);
}

// h5py writes t and no attribute h: the step is the spacing of /train/t (float32 t: its rounding is allowed for).
TEST_F(DatasetIo, StepIsInferredFromTrainTimesWhenHIsMissing) {
  const fs::path p = dir_ / "data.h5";
  write_dataset(p, make_dataset());
  edit_file(p, [](hid_t f) { ASSERT_GE(H5Adelete(f, "h"), 0); });
  EXPECT_EQ(read_dataset(p).h, 0.04 / 4);
  std::vector<double> t(2001);
  for (std::size_t k = 0; k < t.size(); ++k) t[k] = 100 + 0.2 * static_cast<double>(k);
  edit_file(p, [&](hid_t f) {
    put_dataset(f, "train/states", H5T_IEEE_F32LE, {1, 2001, 3}, ramp(6003, 1e-3));
    put_dataset(f, "train/t", H5T_IEEE_F32LE, {2001}, t);  // 100 to 500 in float32: steps off by up to 3e-5
    put_dataset(f, "test/t", H5T_IEEE_F64LE, {4}, ramp(4, 0.2));
  });
  const Dataset d = read_dataset(p);
  EXPECT_NEAR(d.h, 0.2, 1e-6);
  EXPECT_EQ(d.train.num_times(), 2001);
}

// One refusal: how to damage a valid file (or what to put in its place), the object the message must name and
// what it must say.
struct Refusal {
  std::string name;
  std::function<void(const fs::path&)> damage;
  std::string field, expected;
};

std::function<void(const fs::path&)> edit(std::function<void(hid_t)> f) {
  return [f](const fs::path& p) { edit_file(p, f); };
}

std::vector<Refusal> refusals() {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<double> states_with_nan = ramp(30), t_with_inf = ramp(5, 0.01), t_decreasing = ramp(5, -0.01);
  states_with_nan[17] = nan;
  t_with_inf[4] = inf;
  return {
      {"missing file", [](const fs::path& p) { fs::remove(p); }, "data.h5", "file not found"},
      {"empty file", [](const fs::path& p) { std::ofstream(p, std::ios::trunc); }, "data.h5", "empty file"},
      {"text file", [](const fs::path& p) { std::ofstream(p, std::ios::trunc) << "t,x,y,z\n0,1,2,3\n"; }, "data.h5",
       "not an HDF5 file"},
      {"truncated file", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); }, "data.h5",
       "truncated"},
      {"h missing, no t", edit([](hid_t f) {
         H5Adelete(f, "h");
         H5Ldelete(f, "train/t", H5P_DEFAULT);
       }),
       "attribute h of /", "missing, expected the sampling step (a finite number > 0), or /train/t"},
      {"t against h", edit([](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {5}, ramp(5, 0.02)); }),
       "/train/t", "expected uniform times with the step 0.01 (attribute h of /), found t(1) - t(0) = 0.02"},
      {"test t against h", edit([](hid_t f) { put_dataset(f, "test/t", H5T_IEEE_F64LE, {4}, ramp(4, 0.005)); }),
       "/test/t", "expected uniform times with the step 0.01 (attribute h of /), found t(1) - t(0) = 0.005"},
      {"t not uniform", edit([](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {5}, {0, 0.01, 0.02, 0.04, 0.05}); }),
       "/train/t", "found t(3) - t(2) = 0.02"},
      {"t not uniform, no h", edit([](hid_t f) {
         H5Adelete(f, "h");
         put_dataset(f, "train/t", H5T_IEEE_F64LE, {5}, {0, 0.01, 0.02, 0.04, 0.05});
       }),
       "/train/t", "expected uniform times with the step 0.0125 (inferred from /train/t, the file has no attribute h)"},
      {"test t against inferred h", edit([](hid_t f) {
         H5Adelete(f, "h");
         put_dataset(f, "test/t", H5T_IEEE_F64LE, {4}, ramp(4, 0.02));
       }),
       "/test/t", "expected uniform times with the step 0.01 (inferred from /train/t"},
      {"declared too large", edit([](hid_t f) {
         H5Ldelete(f, "train/states", H5P_DEFAULT);
         const hsize_t dims[] = {100000, 1000000, 3}, chunk[] = {1, 1000, 3};
         const hid_t space = H5Screate_simple(3, dims, nullptr), dcpl = H5Pcreate(H5P_DATASET_CREATE);
         H5Pset_chunk(dcpl, 3, chunk);
         H5Dclose(H5Dcreate2(f, "train/states", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
         H5Pclose(dcpl);
         H5Sclose(space);
       }),
       "/train/states", "declares [100000, 1000000, 3] values, 4.4 TB to read (all splits), more than the"},
      {"h zero", edit([](hid_t f) { set_double(f, "h", 0.0); }), "attribute h of /",
       "expected a finite sampling step > 0"},
      {"h negative", edit([](hid_t f) { set_double(f, "h", -0.01); }), "attribute h of /", "found -0.01"},
      {"h nan", edit([nan](hid_t f) { set_double(f, "h", nan); }), "attribute h of /", "found nan"},
      {"h inf", edit([inf](hid_t f) { set_double(f, "h", inf); }), "attribute h of /", "found inf"},
      {"h string", edit([](hid_t f) { set_vlen_string(f, "h", "0.01"); }), "attribute h of /",
       "expected a number, found string"},
      {"newer format version", edit([](hid_t f) { set_int(f, "format_version", 2); }),
       "attribute format_version of /", "written by a newer trk"},
      {"format version zero", edit([](hid_t f) { set_int(f, "format_version", 0); }),
       "attribute format_version of /", "expected 1, found 0"},
      {"other format", edit([](hid_t f) { set_vlen_string(f, "format", "trk-results"); }), "attribute format of /",
       "expected \"trk-dataset\", found \"trk-results\""},
      {"seed fractional", edit([](hid_t f) { set_double(f, "seed", 1.5); }), "attribute seed of /",
       "expected an integer"},
      {"parameters not JSON", edit([](hid_t f) { set_vlen_string(f, "parameters", "sigma=10"); }),
       "attribute parameters of /", "expected a JSON object of numbers"},
      {"parameters not numbers", edit([](hid_t f) { set_vlen_string(f, "parameters", R"({"sigma":"ten"})"); }),
       "attribute parameters of /", "\"sigma\""},
      {"generator not an object", edit([](hid_t f) { set_vlen_string(f, "generator", "[1, 2]"); }),
       "attribute generator of /", "expected a JSON object"},
      {"train missing", edit([](hid_t f) { H5Ldelete(f, "train", H5P_DEFAULT); }), "/train", "missing group"},
      {"test missing", edit([](hid_t f) { H5Ldelete(f, "test", H5P_DEFAULT); }), "/test", "missing group"},
      {"train states missing", edit([](hid_t f) { H5Ldelete(f, "train/states", H5P_DEFAULT); }), "/train/states",
       "missing dataset"},
      {"rank 1", edit([](hid_t f) { put_dataset(f, "train/states", H5T_IEEE_F64LE, {15}, ramp(15)); }),
       "/train/states", "expected rank 2 or 3, found rank 1"},
      {"rank 4", edit([](hid_t f) { put_dataset(f, "train/states", H5T_IEEE_F64LE, {1, 2, 5, 3}, ramp(30)); }),
       "/train/states", "expected rank 2 or 3, found rank 4"},
      {"dims differ", edit([](hid_t f) { put_dataset(f, "test/states", H5T_IEEE_F64LE, {3, 4, 2}, ramp(24)); }),
       "/test/states", "expected dim 3"},
      {"dim 0", edit([](hid_t f) { put_dataset(f, "train/states", H5T_IEEE_F64LE, {2, 5, 0}, {}); }),
       "/train/states", "expected dim >= 1, found 0"},
      {"no trajectories", edit([](hid_t f) { put_dataset(f, "train/states", H5T_IEEE_F64LE, {0, 5, 3}, {}); }),
       "/train/states", "expected at least 1 trajectory"},
      {"one time sample", edit([](hid_t f) {
         put_dataset(f, "train/states", H5T_IEEE_F64LE, {2, 1, 3}, ramp(6));
         put_dataset(f, "train/t", H5T_IEEE_F64LE, {1}, {0.0});
       }),
       "/train/states", "expected at least 2 time samples, found 1"},
      {"t length", edit([](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {4}, ramp(4)); }), "/train/t",
       "expected 5 values"},
      {"t matrix", edit([](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {5, 2}, ramp(10)); }), "/train/t",
       "expected rank 1"},
      {"NaN in states",
       edit([states_with_nan](hid_t f) { put_dataset(f, "train/states", H5T_IEEE_F64LE, {2, 5, 3}, states_with_nan); }),
       "/train/states", "expected finite values, found nan at [1, 0, 2]"},
      {"Inf in t", edit([t_with_inf](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {5}, t_with_inf); }),
       "/train/t", "expected finite values, found inf"},
      {"t decreasing", edit([t_decreasing](hid_t f) { put_dataset(f, "train/t", H5T_IEEE_F64LE, {5}, t_decreasing); }),
       "/train/t", "strictly increasing"},
      {"integer states", edit([](hid_t f) { put_dataset(f, "train/states", H5T_STD_I32LE, {2, 5, 3}, ramp(30)); }),
       "/train/states", "expected floating-point values, found integer"},
      {"string states", edit([](hid_t f) {
         H5Ldelete(f, "test/states", H5P_DEFAULT);
         hid_t type = H5Tcopy(H5T_C_S1);
         H5Tset_size(type, 8);
         const hsize_t dims[] = {2};
         hid_t space = H5Screate_simple(1, dims, nullptr);
         hid_t ds = H5Dcreate2(f, "test/states", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
         H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, "1.0\0\0\0\0\0" "2.0\0\0\0\0\0");
         H5Dclose(ds);
         H5Sclose(space);
         H5Tclose(type);
       }),
       "/test/states", "expected floating-point values, found string"},
  };
}

TEST_F(DatasetIo, RefusalsNameFileAndFieldOnOneLine) {
  for (const Refusal& r : refusals()) {
    SCOPED_TRACE(r.name);
    const fs::path p = dir_ / "data.h5";
    write_dataset(p, make_dataset());
    r.damage(p);
    try {
      read_dataset(p);
      ADD_FAILURE() << "accepted";
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
      EXPECT_NE(msg.find(r.field), std::string::npos) << msg;
      EXPECT_NE(msg.find(r.expected), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    fs::remove(p);
  }
}

TEST_F(DatasetIo, FailedWriteLeavesNoFileBehind) {
  const fs::path missing = dir_ / "no_such_dir" / "data.h5";
  try {
    write_dataset(missing, make_dataset());
    FAIL() << "wrote into a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(files_in_dir().empty());

  // A dataset the reader would refuse is refused before anything is written.
  Dataset bad = make_dataset();
  bad.test.states[2](1, 3) = std::numeric_limits<double>::quiet_NaN();
  const fs::path p = dir_ / "data.h5";
  try {
    write_dataset(p, bad);
    FAIL() << "wrote a NaN";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("/test/states"), std::string::npos) << msg;
  }
  bad = make_dataset();
  bad.train.states[1].resize(3, 4);
  EXPECT_THROW(write_dataset(p, bad), std::runtime_error);
  EXPECT_TRUE(files_in_dir().empty());

  // A failure while filling the file removes the temporary file.
  EXPECT_THROW(h5::write_file_atomic(p, [](h5::Group& root) {
                 root.write_double_attribute("x", 1.0);
                 throw std::runtime_error("interrupted");
               }),
               std::runtime_error);
  EXPECT_TRUE(files_in_dir().empty());
}

TEST_F(DatasetIo, Hdf5UtilMatricesAndAttributes) {
  Mat m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  const fs::path p = dir_ / "grid.h5";
  h5::write_file_atomic(p, [&](h5::Group& root) {
    root.write_string_attribute("format", "trk-test");
    root.write_int_attribute("n", -3);
    root.write_double_attribute("x", 0.25);
    root.write_double_attribute("whole", 12.0);
    h5::Group g = root.create_group("grid");
    g.write_matrix("abs_R", m);
  });
  const h5::File f = h5::File::open_read(p);
  EXPECT_EQ(f.read_string_attribute("format"), "trk-test");
  EXPECT_EQ(f.read_int_attribute("n"), -3);
  EXPECT_EQ(f.read_double_attribute("n"), -3.0);
  EXPECT_EQ(f.read_double_attribute("x"), 0.25);
  EXPECT_EQ(f.read_int_attribute("whole"), 12);
  EXPECT_FALSE(f.read_string_attribute("absent").has_value());
  EXPECT_THROW(f.read_int_attribute("x"), std::runtime_error);
  EXPECT_THROW(f.read_string_attribute("n"), std::runtime_error);
  const h5::Group g = f.open_group("grid");
  EXPECT_EQ(g.read_matrix("abs_R"), m);
  const h5::Array a = g.read_array("abs_R");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));  // C order: h5py sees abs_R[i, j] = m(i, j)
  EXPECT_THROW(g.read_array("missing"), std::runtime_error);
}

}  // namespace
}  // namespace trk::io
