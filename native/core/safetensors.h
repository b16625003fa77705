// defines: SafetensorsFile (a .safetensors file read with pread, whose header is
// validated strictly, as the format spec requires) and write_safetensors (an
// atomic writer). Format: 8-byte little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then
// the data buffer, which the tensors' byte ranges must cover exactly.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/fileio.h"
#include "dpzo/dtype.h"

namespace dpzo {

// Largest header accepted, as the reference implementation caps it.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

struct StTensor {
  std::string name;
  std::string dtype_name;  // as spelled in the header: "F32", "BF16", "I64", ...
  bool supported = false;  // F32, F16 or BF16 (then `dtype` is meaningful)
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // empty = scalar
  int64_t numel = 1;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

class SafetensorsFile {
 public:
  // Opens and validates `path` (the header only; data is read on demand). Throws ERR_IO, ERR_SAFETENSORS_HEADER,
  // ERR_SAFETENSORS_OFFSETS or ERR_SAFETENSORS_TRUNCATED, naming the file
  // (and the tensor where there is one). Every known safetensors dtype is
  // accepted here, so a file with, e.g., a boolean mask buffer still opens;
  // callers reject unsupported dtypes of tensors they use with require_supported.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<StTensor>& tensors() const { return tensors_; }  // sorted by name
  const StTensor* find(const std::string& name) const;               // nullptr if absent
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
  uint64_t header_length() const { return header_len_; }
  uint64_t data_offset() const { return 8 + header_len_; }
  // ERR_DTYPE naming the file, the tensor and its dtype unless it is F32/F16/BF16.
  void require_supported(const StTensor& t) const;
  // Hint the kernel to read a tensor's bytes ahead.
  void will_need(const StTensor& t) const { file_->will_need(data_offset() + t.begin, t.end - t.begin); }
  // Reads bytes [begin, begin+len) of tensor t's data into dst (ERR_SAFETENSORS_TRUNCATED if the file shrank).
  void read(const StTensor& t, uint64_t begin, uint64_t len, void* dst) const;
  // Bytes in the data buffer (after the header).
  uint64_t data_size() const { return file_->size() - data_offset(); }

 private:
  std::unique_ptr<fileio::RandomAccessFile> file_;
  uint64_t header_len_ = 0;
  std::vector<StTensor> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

struct StTensorOut {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel * dtype_size bytes, little-endian
};

// Writes a safetensors file atomically (temp file, fsync, rename): tensors in
// name order, contiguous, header padded with spaces to a multiple of 8.
// Duplicate names throw ERR_ARGUMENT.
void write_safetensors(const std::string& path, std::vector<StTensorOut> tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata);

// "[a, b, c]": a shape as error messages print it.
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace dpzo
