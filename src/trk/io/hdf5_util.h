// A small RAII layer over the HDF5 C API: open or create a file, read and write scalar attributes and
// double arrays of a given shape. The HDF5 headers stay in hdf5_util.cpp; callers see std:: types only.
//
// Conventions:
//   - Arrays are stored in C order: element (i0, ..., i_{r-1}) of shape (n0, ..., n_{r-1}) is
//     values[((i0 n1 + i1) n2 + i2) ...]. An Eigen (column-major) rows x cols matrix therefore appears in C
//     order as a [cols, rows] array; write_matrix / read_matrix transpose so that h5py sees m[i, j] = m(i, j).
//   - Every error is a std::runtime_error with a one-line message "<file>: <object>: <what was expected>",
//     e.g. "data.h5: /train/states: expected rank 2 or 3, found rank 1"; attributes are named
//     "attribute h of /". HDF5's own error-stack printing is switched off (on the calling thread) whenever a
//     file is opened or created, so users never see HDF5 stack dumps.
//   - Files written here are byte-for-byte deterministic: object modification times are not recorded.
//
// Writing a results file takes a few lines:
//   h5::write_file_atomic("fit.h5", [&](h5::Group& root) {
//     root.write_string_attribute("format", "trk-fit");
//     root.write_matrix("abs_R", grid);            // [rows, cols] as seen from h5py
//   });
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trk/core/types.h"

namespace trk::io::h5 {

// Owns one HDF5 identifier (file, group, dataset, attribute, dataspace, datatype or property list) and
// closes it with the matching H5*close on destruction. Move-only. The id is HDF5's hid_t (int64 since 1.10).
class Handle {
 public:
  Handle() = default;
  explicit Handle(std::int64_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  std::int64_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  std::int64_t release() { std::int64_t id = id_; id_ = -1; return id; }
  void reset();  // closes the identifier if valid; errors on close are ignored

 private:
  std::int64_t id_ = -1;
};

// Values of a numeric dataset converted to double, in C order for `shape` (empty shape: a scalar).
struct Array {
  std::vector<std::size_t> shape;
  std::vector<double> values;
  std::size_t element_size = 8;  // bytes of one value as stored (4: float32, whose rounding a reader may allow for)
  int rank() const { return static_cast<int>(shape.size()); }
};

// The shape of a floating-point dataset as declared in the file, read without its values.
struct ArrayShape {
  std::vector<std::size_t> shape;
  std::size_t element_size = 8;
  double count() const;  // product of the shape (a double: a damaged file may declare more than 2^64)
};

// An open group: the root "/" of a file or a group below it. Keeps the file's display name and its own path
// so that every error names the object it concerns.
class Group {
 public:
  Group(Handle id, std::string file_name, std::string path);

  const std::string& file_name() const { return file_name_; }
  const std::string& path() const { return path_; }                     // "/", "/train"
  std::string child_path(std::string_view name) const;                  // "/train/states"
  std::string where(std::string_view child) const;                      // "data.h5: /train/states"
  std::string where_attribute(std::string_view name) const;             // "data.h5: attribute h of /"
  std::int64_t id() const { return id_.get(); }

  bool has_group(std::string_view name) const;
  bool has_dataset(std::string_view name) const;
  bool has_attribute(std::string_view name) const;

  // Opens an existing child group; throws "<file>: <path>: missing group" if there is none.
  Group open_group(std::string_view name) const;
  Group create_group(std::string_view name);

  // Scalar attributes. Strings are written as variable-length UTF-8 (what h5py writes), integers as int64,
  // doubles as float64. An existing attribute of the same name is replaced.
  void write_string_attribute(std::string_view name, std::string_view value);
  // Fixed-length (null-padded) UTF-8: no global heap, whose readers in libhdf5 1.10 can crash or loop on a
  // damaged file (tests/io/fuzz_readers_test.cpp). Used by files only trk reads (checkpoints).
  void write_fixed_string_attribute(std::string_view name, std::string_view value);
  void write_int_attribute(std::string_view name, std::int64_t value);
  void write_double_attribute(std::string_view name, double value);

  // Readers return nullopt when the attribute is absent and throw when it is present but unusable.
  // A value is accepted when the attribute holds exactly one element (scalar, or an array of one element as
  // MATLAB writes). Strings: variable- or fixed-length, ASCII or UTF-8, trailing padding removed.
  // Integers: any integer type, or a floating-point value that is a whole number within int64.
  // Doubles: any integer or floating-point type.
  std::optional<std::string> read_string_attribute(std::string_view name) const;
  std::optional<std::int64_t> read_int_attribute(std::string_view name) const;
  std::optional<double> read_double_attribute(std::string_view name) const;

  // Writes a float64 dataset of the given shape from values in C order; product(shape) == values.size().
  void write_array(std::string_view name, std::span<const double> values, const std::vector<std::size_t>& shape);
  void write_vector(std::string_view name, const Vec& v);    // shape [n]
  void write_matrix(std::string_view name, const Mat& m);    // shape [rows, cols], h5py m[i, j] = m(i, j)

  // Reads a floating-point dataset (float32, float64, any rank) as doubles. Throws if it is missing or its
  // element type is not floating point ("expected floating-point values, found integer").
  Array read_array(std::string_view name) const;
  // Its shape only, so that a size declared by a file can be refused before it is allocated. Throws as read_array.
  ArrayShape read_shape(std::string_view name) const;
  Mat read_matrix(std::string_view name) const;              // a rank-2 dataset written by write_matrix

 protected:
  Handle id_;

 private:
  std::string file_name_, path_;
};

// An open file and its root group. Closing happens on destruction; close() does it early and reports failure.
class File : public Group {
 public:
  // Opens an existing file read-only. Errors name `path`: not found, empty, not an HDF5 file, or HDF5 cannot
  // open it (for instance a truncated file), with HDF5's own reason on the same line.
  static File open_read(const std::filesystem::path& path);
  // Creates (truncates) `path`; errors and messages name `display_name` (the target of an atomic write).
  static File create(const std::filesystem::path& path, const std::string& display_name);

  void close();  // flushes and closes; throws "<file>: cannot write (...)" on failure

 private:
  File(Handle id, std::string file_name) : Group(std::move(id), std::move(file_name), "/") {}
};

// Writes an HDF5 file atomically: creates a temporary file beside `path`, calls fill(root), closes it and
// renames it onto `path`. On any failure no file and no temporary file remain; errors name `path`.
void write_file_atomic(const std::filesystem::path& path, const std::function<void(Group& root)>& fill);

}  // namespace trk::io::h5
