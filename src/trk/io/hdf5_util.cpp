#include "trk/io/hdf5_util.h"

#include <fmt/format.h>
#include <hdf5.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <system_error>
#include <type_traits>

#include "trk/io/atomic_file.h"

namespace trk::io::h5 {

static_assert(std::is_same_v<hid_t, std::int64_t>, "Handle stores hid_t as int64 (HDF5 >= 1.10)");

namespace fs = std::filesystem;

namespace {

// libhdf5 1.10 closes every file still open at exit (H5_term_library, from atexit). When a write failed (disk full,
// file-size limit), H5Fclose fails and leaves the file's identifier pointing at a half-destroyed file, and that
// shutdown crashes on it (SIGSEGV in H5F__close_cb). Every file trk opens is closed by its owner (Handle), so the
// shutdown has nothing to do: it is switched off before the library starts (H5dont_atexit must come first).
const bool no_library_shutdown = [] { return H5dont_atexit() >= 0; }();

// Switches off HDF5's printing of its error stack for this thread (the stack is per thread in thread-safe
// builds); errors are reported through exceptions instead.
void silence_hdf5_errors() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

[[noreturn]] void fail(std::string_view where, std::string_view what) {
  throw std::runtime_error(one_line(std::string(where) + ": " + std::string(what)));
}

herr_t take_innermost(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then clears the stack. A failed
// system call is reported by its error text alone ("No space left on device", "File too large"), not the whole
// "file write failed: time = ..., errno = 28, error message = '...', buf = ..." line of the sec2 driver.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  constexpr std::string_view kSystemError = "error message = '";
  if (const auto at = reason.find(kSystemError); at != std::string::npos) {
    const auto from = at + kSystemError.size(), to = reason.find('\'', from);
    if (to != std::string::npos) return reason.substr(from, to - from);
  }
  return reason.empty() ? "unknown HDF5 error" : one_line(reason);
}

std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "floating point";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    default: return "unknown type";
  }
}

Handle object_creation_plist(hid_t cls, const std::string& where) {
  Handle plist(H5Pcreate(cls));
  if (!plist.valid() || H5Pset_obj_track_times(plist.get(), false) < 0)
    fail(where, "cannot set creation properties (" + hdf5_reason() + ")");
  return plist;
}

Handle file_access_plist(const std::string& where) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  // No locking (it fails on some network file systems; trk never shares an open file between writers), and a
  // strong close so that closing the file really flushes it even if a child object was left open.
  if (!fapl.valid() || H5Pset_file_locking(fapl.get(), false, true) < 0 ||
      H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0)
    fail(where, "cannot set file access properties (" + hdf5_reason() + ")");
  return fapl;
}

// True if `name` is a link below `loc` to an object of the given type.
bool has_object(hid_t loc, std::string_view name, H5I_type_t type) {
  const std::string n(name);
  if (H5Lexists(loc, n.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  Handle obj(H5Oopen(loc, n.c_str(), H5P_DEFAULT));
  if (!obj.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Iget_type(obj.get()) == type;
}

// An open attribute holding one element, with its type.
struct OpenAttribute {
  Handle attr, type;
  H5T_class_t cls = H5T_NO_CLASS;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------- Handle

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.release();
  }
  return *this;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;  // already closed (e.g. by a strong file close) or another kind
  }
  H5Eclear2(H5E_DEFAULT);
  id_ = -1;
}

// ----------------------------------------------------------------------------------------------------- Group

Group::Group(Handle id, std::string file_name, std::string path)
    : id_(std::move(id)), file_name_(std::move(file_name)), path_(std::move(path)) {}

std::string Group::child_path(std::string_view name) const {
  return (path_ == "/" ? "/" : path_ + "/") + std::string(name);
}

std::string Group::where(std::string_view child) const { return file_name_ + ": " + child_path(child); }

std::string Group::where_attribute(std::string_view name) const {
  return file_name_ + ": attribute " + std::string(name) + " of " + path_;
}

bool Group::has_group(std::string_view name) const { return has_object(id_.get(), name, H5I_GROUP); }
bool Group::has_dataset(std::string_view name) const { return has_object(id_.get(), name, H5I_DATASET); }

bool Group::has_attribute(std::string_view name) const {
  const htri_t e = H5Aexists(id_.get(), std::string(name).c_str());
  if (e < 0) H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

Group Group::open_group(std::string_view name) const {
  if (!has_group(name)) fail(where(name), "missing group");
  Handle g(H5Gopen2(id_.get(), std::string(name).c_str(), H5P_DEFAULT));
  if (!g.valid()) fail(where(name), "cannot open group (" + hdf5_reason() + ")");
  return Group(std::move(g), file_name_, child_path(name));
}

Group Group::create_group(std::string_view name) {
  Handle gcpl = object_creation_plist(H5P_GROUP_CREATE, where(name));
  Handle g(H5Gcreate2(id_.get(), std::string(name).c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT));
  if (!g.valid()) fail(where(name), "cannot create group (" + hdf5_reason() + ")");
  return Group(std::move(g), file_name_, child_path(name));
}

namespace {

// Creates a scalar attribute `name` of file type `file_type` on `loc` (replacing one of the same name) and
// writes one element of memory type `mem_type` from `value`.
void write_scalar_attribute(hid_t loc, std::string_view name, hid_t file_type, hid_t mem_type, const void* value,
                            const std::string& where) {
  const std::string n(name);
  if (H5Aexists(loc, n.c_str()) > 0 && H5Adelete(loc, n.c_str()) < 0)
    fail(where, "cannot replace attribute (" + hdf5_reason() + ")");
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(loc, n.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), mem_type, value) < 0)
    fail(where, "cannot write attribute (" + hdf5_reason() + ")");
}

// Opens attribute `name` if present and checks that it holds exactly one element.
std::optional<OpenAttribute> open_single_attribute(hid_t loc, std::string_view name, const std::string& where) {
  const std::string n(name);
  const htri_t exists = H5Aexists(loc, n.c_str());
  if (exists < 0) fail(where, "cannot look up attribute (" + hdf5_reason() + ")");
  if (exists == 0) return std::nullopt;
  OpenAttribute a;
  a.attr = Handle(H5Aopen(loc, n.c_str(), H5P_DEFAULT));
  if (!a.attr.valid()) fail(where, "cannot open attribute (" + hdf5_reason() + ")");
  a.type = Handle(H5Aget_type(a.attr.get()));
  Handle space(H5Aget_space(a.attr.get()));
  if (!a.type.valid() || !space.valid()) fail(where, "cannot read attribute (" + hdf5_reason() + ")");
  a.cls = H5Tget_class(a.type.get());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count != 1) fail(where, "expected a single value, found " + std::to_string(count) + " values");
  return a;
}

}  // namespace

void Group::write_string_attribute(std::string_view name, std::string_view value) {
  const std::string w = where_attribute(name);
  Handle type(H5Tcopy(H5T_C_S1));
  if (!type.valid() || H5Tset_size(type.get(), H5T_VARIABLE) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    fail(w, "cannot make string type (" + hdf5_reason() + ")");
  const std::string text(value);
  const char* ptr = text.c_str();
  write_scalar_attribute(id_.get(), name, type.get(), type.get(), &ptr, w);
}

void Group::write_fixed_string_attribute(std::string_view name, std::string_view value) {
  const std::string w = where_attribute(name);
  Handle type(H5Tcopy(H5T_C_S1));
  if (!type.valid() || H5Tset_size(type.get(), std::max<size_t>(1, value.size())) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    fail(w, "cannot make string type (" + hdf5_reason() + ")");
  std::string text(value);
  text.resize(std::max<size_t>(1, value.size()), '\0');
  write_scalar_attribute(id_.get(), name, type.get(), type.get(), text.data(), w);
}

void Group::write_int_attribute(std::string_view name, std::int64_t value) {
  write_scalar_attribute(id_.get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, where_attribute(name));
}

void Group::write_double_attribute(std::string_view name, double value) {
  write_scalar_attribute(id_.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, where_attribute(name));
}

std::optional<std::string> Group::read_string_attribute(std::string_view name) const {
  const std::string w = where_attribute(name);
  auto a = open_single_attribute(id_.get(), name, w);
  if (!a) return std::nullopt;
  if (a->cls != H5T_STRING) fail(w, "expected a string, found " + class_name(a->cls));
  const htri_t variable = H5Tis_variable_str(a->type.get());
  if (variable < 0) fail(w, "cannot read string type (" + hdf5_reason() + ")");
  if (variable > 0) {
    Handle mem(H5Tcopy(H5T_C_S1));
    if (!mem.valid() || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(mem.get(), H5Tget_cset(a->type.get())) < 0)
      fail(w, "cannot make string type (" + hdf5_reason() + ")");
    char* ptr = nullptr;
    if (H5Aread(a->attr.get(), mem.get(), &ptr) < 0) fail(w, "cannot read (" + hdf5_reason() + ")");
    std::string s = ptr ? ptr : "";
    H5free_memory(ptr);
    return s;
  }
  const std::size_t size = H5Tget_size(a->type.get());
  std::string buf(size, '\0');
  if (size > 0 && H5Aread(a->attr.get(), a->type.get(), buf.data()) < 0)
    fail(w, "cannot read (" + hdf5_reason() + ")");
  // Fixed-length strings are padded with NULs (null-terminated or null-padded) or spaces (Fortran style).
  buf.resize(std::strlen(buf.c_str()));
  if (H5Tget_strpad(a->type.get()) == H5T_STR_SPACEPAD)
    while (!buf.empty() && buf.back() == ' ') buf.pop_back();
  return buf;
}

std::optional<double> Group::read_double_attribute(std::string_view name) const {
  const std::string w = where_attribute(name);
  auto a = open_single_attribute(id_.get(), name, w);
  if (!a) return std::nullopt;
  if (a->cls != H5T_INTEGER && a->cls != H5T_FLOAT) fail(w, "expected a number, found " + class_name(a->cls));
  double v = 0;
  if (H5Aread(a->attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) fail(w, "cannot read (" + hdf5_reason() + ")");
  return v;
}

std::optional<std::int64_t> Group::read_int_attribute(std::string_view name) const {
  const std::string w = where_attribute(name);
  auto a = open_single_attribute(id_.get(), name, w);
  if (!a) return std::nullopt;
  if (a->cls == H5T_INTEGER) {
    if (H5Tget_sign(a->type.get()) == H5T_SGN_NONE && H5Tget_size(a->type.get()) >= 8) {
      std::uint64_t u = 0;
      if (H5Aread(a->attr.get(), H5T_NATIVE_UINT64, &u) < 0) fail(w, "cannot read (" + hdf5_reason() + ")");
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(w, "expected an integer within int64, found " + std::to_string(u));
      return static_cast<std::int64_t>(u);
    }
    std::int64_t v = 0;
    if (H5Aread(a->attr.get(), H5T_NATIVE_INT64, &v) < 0) fail(w, "cannot read (" + hdf5_reason() + ")");
    return v;
  }
  if (a->cls == H5T_FLOAT) {  // MATLAB stores numbers as double unless told otherwise
    double v = 0;
    if (H5Aread(a->attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) fail(w, "cannot read (" + hdf5_reason() + ")");
    if (!(std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9.2233720368547758e18))
      fail(w, fmt::format("expected an integer, found {}", v));
    return static_cast<std::int64_t>(v);
  }
  fail(w, "expected an integer, found " + class_name(a->cls));
}

void Group::write_array(std::string_view name, std::span<const double> values,
                        const std::vector<std::size_t>& shape) {
  const std::string w = where(name);
  std::size_t count = 1;
  std::vector<hsize_t> dims;
  for (std::size_t n : shape) {
    count *= n;
    dims.push_back(n);
  }
  if (count != values.size())
    fail(w, "shape holds " + std::to_string(count) + " values, given " + std::to_string(values.size()));
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle dcpl = object_creation_plist(H5P_DATASET_CREATE, w);
  Handle ds(H5Dcreate2(id_.get(), std::string(name).c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                       dcpl.get(), H5P_DEFAULT));
  if (!ds.valid()) fail(w, "cannot create dataset (" + hdf5_reason() + ")");
  if (count > 0 && H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(w, "cannot write dataset (" + hdf5_reason() + ")");
}

void Group::write_vector(std::string_view name, const Vec& v) {
  write_array(name, std::span<const double>(v.data(), static_cast<std::size_t>(v.size())),
              {static_cast<std::size_t>(v.size())});
}

void Group::write_matrix(std::string_view name, const Mat& m) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = m;  // C order
  write_array(name, std::span<const double>(row_major.data(), static_cast<std::size_t>(row_major.size())),
              {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())});
}

double ArrayShape::count() const {
  double n = 1;
  for (std::size_t d : shape) n *= static_cast<double>(d);
  return n;
}

namespace {

// An open floating-point dataset with its shape.
struct OpenDataset {
  Handle ds, type, space;
  ArrayShape shape;
};

OpenDataset open_float_dataset(const Group& g, std::string_view name) {
  const std::string w = g.where(name);
  if (!g.has_dataset(name)) fail(w, g.has_group(name) ? "expected a dataset, found a group" : "missing dataset");
  OpenDataset o;
  o.ds = Handle(H5Dopen2(g.id(), std::string(name).c_str(), H5P_DEFAULT));
  if (!o.ds.valid()) fail(w, "cannot open dataset (" + hdf5_reason() + ")");
  o.type = Handle(H5Dget_type(o.ds.get()));
  o.space = Handle(H5Dget_space(o.ds.get()));
  if (!o.type.valid() || !o.space.valid()) fail(w, "cannot read dataset (" + hdf5_reason() + ")");
  const H5T_class_t cls = H5Tget_class(o.type.get());
  if (cls != H5T_FLOAT) fail(w, "expected floating-point values, found " + class_name(cls));
  o.shape.element_size = H5Tget_size(o.type.get());
  const int rank = H5Sget_simple_extent_ndims(o.space.get());
  if (rank < 0) fail(w, "cannot read shape (" + hdf5_reason() + ")");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(o.space.get(), dims.data(), nullptr) < 0)
    fail(w, "cannot read shape (" + hdf5_reason() + ")");
  o.shape.shape.assign(dims.begin(), dims.end());
  return o;
}

}  // namespace

ArrayShape Group::read_shape(std::string_view name) const { return open_float_dataset(*this, name).shape; }

Array Group::read_array(std::string_view name) const {
  const std::string w = where(name);
  const OpenDataset o = open_float_dataset(*this, name);
  Array out;
  out.shape = o.shape.shape;
  out.element_size = o.shape.element_size;
  const hssize_t count = H5Sget_simple_extent_npoints(o.space.get());
  if (count < 0) fail(w, "cannot read shape (" + hdf5_reason() + ")");
  try {
    out.values.resize(static_cast<std::size_t>(count));
  } catch (const std::exception&) {  // bad_alloc, or length_error for a count beyond what a vector holds
    fail(w, "too large to read (" + std::to_string(count) + " values)");
  }
  if (count > 0 && H5Dread(o.ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()) < 0)
    fail(w, "cannot read dataset (" + hdf5_reason() + ")");
  return out;
}

Mat Group::read_matrix(std::string_view name) const {
  Array a = read_array(name);
  if (a.rank() != 2) fail(where(name), "expected rank 2, found rank " + std::to_string(a.rank()));
  const auto rows = static_cast<Eigen::Index>(a.shape[0]), cols = static_cast<Eigen::Index>(a.shape[1]);
  return Eigen::Map<const Mat>(a.values.data(), cols, rows).transpose();  // C order [rows, cols]
}

// ------------------------------------------------------------------------------------------------------ File

File File::open_read(const fs::path& path) {
  silence_hdf5_errors();
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(name, "file not found");
  if (fs::is_directory(status)) fail(name, "expected an HDF5 file, found a directory");
  const auto size = fs::file_size(path, ec);
  if (!ec && size == 0) fail(name, "empty file, expected an HDF5 file");
  const htri_t is_hdf5 = H5Fis_hdf5(name.c_str());
  if (is_hdf5 == 0) fail(name, "not an HDF5 file");
  if (is_hdf5 < 0) fail(name, "cannot read (" + hdf5_reason() + ")");
  Handle fapl = file_access_plist(name);
  Handle file(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file.valid()) fail(name, "cannot open HDF5 file, truncated or damaged? (" + hdf5_reason() + ")");
  return File(std::move(file), name);
}

File File::create(const fs::path& path, const std::string& display_name) {
  silence_hdf5_errors();
  Handle fcpl = object_creation_plist(H5P_FILE_CREATE, display_name);  // the root group's times
  Handle fapl = file_access_plist(display_name);
  Handle file(H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()));
  if (!file.valid()) fail(display_name, "cannot create (" + hdf5_reason() + ")");
  return File(std::move(file), display_name);
}

void File::close() {
  if (!id_.valid()) return;
  const hid_t id = id_.release();
  if (H5Fclose(id) < 0) fail(file_name(), "cannot write (" + hdf5_reason() + ")");
}

void write_file_atomic(const fs::path& path, const std::function<void(Group& root)>& fill) {
  const fs::path parent = path.parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    fail(path.string(), "cannot write, directory " + parent.string() + " does not exist");
  AtomicFile target(path);
  {
    File file = File::create(target.temp_path(), path.string());
    fill(file);
    file.close();
  }
  target.commit();
}

}  // namespace trk::io::h5
