// defines: SafetensorsFile (validating reader over pread) and
// write_safetensors (see core/safetensors.h).
#include "core/safetensors.h"

#include <algorithm>
#include <cstring>

#include "core/json.h"
#include "dpzo/errors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace dpzo {

namespace {

struct KnownDtype {
  const char* name;
  int bits;
};

// Every dtype of the safetensors spec; only F32/F16/BF16 are computed with.
constexpr KnownDtype kDtypes[] = {
    {"BOOL", 8}, {"U8", 8},   {"I8", 8},    {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"I16", 16},
    {"U16", 16}, {"F16", 16}, {"BF16", 16}, {"I32", 32},    {"U32", 32},    {"F32", 32},    {"F64", 64},
    {"I64", 64}, {"U64", 64}, {"C64", 64},  {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6},
};

int dtype_bits(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.bits;
  return 0;
}

// 'name', with JSON escapes so that odd bytes in a name stay visible
std::string quoted(const std::string& s) {
  std::string out;
  json::write_string(out, s);
  out.front() = '\'';
  out.back() = '\'';
  return out;
}

}  // namespace

// "[a, b, c]", for messages
std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_unique<fileio::RandomAccessFile>(path)) {
  const uint64_t size = file_->size();
  auto header_err = [&](const std::string& what) { return Error(err::kSafetensorsHeader, path + ": " + what); };

  if (size < 8) throw header_err("file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  uint64_t n = 0;
  file_->read_at(0, 8, &n);  // little-endian u64
  if (n > kSafetensorsMaxHeader)
    throw header_err("header length " + std::to_string(n) + " exceeds the limit of " +
                     std::to_string(kSafetensorsMaxHeader) + " bytes");
  if (n > size - 8)
    throw header_err("header longer than the file (header length " + std::to_string(n) + ", file size " +
                     std::to_string(size) + ")");
  header_len_ = n;
  std::string header(static_cast<size_t>(n), '\0');
  if (n > 0) file_->read_at(8, n, header.data());
  if (n < 2 || header[0] != '{') throw header_err("header does not start with '{'");

  std::string_view text(header);
  json::Value root = json::parse(text, err::kSafetensorsHeader, path + " (header)");
  if (!root.is_object()) throw header_err("header is not a JSON object");

  const uint64_t data_size = size - 8 - n;
  bool seen_metadata = false;
  tensors_.reserve(root.object.size());
  for (const auto& [name, v] : root.object) {
    if (name == "__metadata__") {
      if (seen_metadata) throw header_err("duplicate \"__metadata__\"");
      seen_metadata = true;
      if (v.is_null()) continue;  // no metadata, as the safetensors library reads it (an optional map)
      if (!v.is_object()) throw header_err("\"__metadata__\" must be an object of strings");
      for (const auto& [k, mv] : v.object) {
        if (!mv.is_string()) throw header_err("\"__metadata__\" value of " + quoted(k) + " is not a string");
        metadata_.emplace_back(k, mv.string);
      }
      continue;
    }
    const std::string where = "tensor " + quoted(name);
    if (!v.is_object()) throw header_err(where + ": entry is not an object");
    const json::Value* dt = v.get("dtype");
    const json::Value* sh = v.get("shape");
    const json::Value* off = v.get("data_offsets");
    if (!dt || !dt->is_string()) throw header_err(where + ": \"dtype\" missing or not a string");
    if (!sh || !sh->is_array()) throw header_err(where + ": \"shape\" missing or not an array");
    if (!off || !off->is_array() || off->array.size() != 2)
      throw header_err(where + ": \"data_offsets\" missing or not an array of 2 integers");

    StTensor t;
    t.name = name;
    t.dtype_name = dt->string;
    int bits = dtype_bits(t.dtype_name);
    if (bits == 0) throw header_err(where + ": unknown dtype " + quoted(t.dtype_name));
    if (t.dtype_name == "F32") {
      t.supported = true;
      t.dtype = DType::F32;
    }
    if (t.dtype_name == "F16") {
      t.supported = true;
      t.dtype = DType::F16;
    }
    if (t.dtype_name == "BF16") {
      t.supported = true;
      t.dtype = DType::BF16;
    }

    // numel with overflow checks: the total bit count must fit comfortably in u64
    unsigned __int128 numel = 1;
    for (const auto& d : sh->array) {
      if (!d.is_number() || !d.is_integer || d.integer < 0)
        throw header_err(where + ": shape entries must be non-negative integers");
      t.shape.push_back(d.integer);
      numel *= static_cast<uint64_t>(d.integer);
      if (numel > (static_cast<unsigned __int128>(1) << 60)) throw header_err(where + ": shape too large");
    }
    t.numel = static_cast<int64_t>(numel);
    for (int i = 0; i < 2; ++i) {
      const auto& o = off->array[static_cast<size_t>(i)];
      if (!o.is_number() || !o.is_integer || o.integer < 0)
        throw header_err(where + ": \"data_offsets\" must be non-negative integers");
    }
    t.begin = static_cast<uint64_t>(off->array[0].integer);
    t.end = static_cast<uint64_t>(off->array[1].integer);
    if (t.end < t.begin)
      throw Error(err::kSafetensorsOffsets, path + ": " + where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                                                std::to_string(t.end) + "] end before they begin");
    unsigned __int128 total_bits = numel * static_cast<unsigned>(bits);
    if (total_bits % 8 != 0)
      throw Error(err::kSafetensorsOffsets, path + ": " + where + ": " + shape_str(t.shape) + " of " + t.dtype_name +
                                                " is not a whole number of bytes");
    uint64_t need = static_cast<uint64_t>(total_bits / 8);
    if (t.end - t.begin != need)
      throw Error(err::kSafetensorsOffsets, path + ": " + where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                                                std::to_string(t.end) + "] span " + std::to_string(t.end - t.begin) +
                                                " bytes but shape " + shape_str(t.shape) + " of " + t.dtype_name +
                                                " needs " + std::to_string(need));
    tensors_.push_back(std::move(t));
  }

  std::sort(tensors_.begin(), tensors_.end(), [](const StTensor& a, const StTensor& b) { return a.name < b.name; });
  for (size_t i = 1; i < tensors_.size(); ++i)
    if (tensors_[i].name == tensors_[i - 1].name) throw header_err("duplicate tensor name " + quoted(tensors_[i].name));

  // The byte ranges, in offset order, must tile [0, data_size) exactly.
  std::vector<const StTensor*> by_off;
  by_off.reserve(tensors_.size());
  for (const auto& t : tensors_) by_off.push_back(&t);
  std::sort(by_off.begin(), by_off.end(), [](const StTensor* a, const StTensor* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  const StTensor* prev = nullptr;
  for (const StTensor* t : by_off) {
    if (t->begin != cursor) {
      std::string rel = t->begin > cursor ? "leaves a gap of " + std::to_string(t->begin - cursor) + " bytes"
                                          : "overlaps by " + std::to_string(cursor - t->begin) + " bytes";
      std::string after =
          prev ? "after tensor " + quoted(prev->name) + " (ending at byte " + std::to_string(cursor) + ")"
               : "at the start of the data buffer";
      throw Error(err::kSafetensorsOffsets, path + ": tensor " + quoted(t->name) + " starts at byte " +
                                                std::to_string(t->begin) + ", which " + rel + " " + after);
    }
    cursor = t->end;
    prev = t;
  }
  if (cursor > data_size)
    throw Error(err::kSafetensorsTruncated, path + ": file is truncated: the header declares " +
                                                std::to_string(8 + n + cursor) + " bytes, the file has " +
                                                std::to_string(size) +
                                                (prev ? " (tensor " + quoted(prev->name) + " ends past the end)" : ""));
  if (cursor < data_size)
    throw Error(err::kSafetensorsOffsets, path + ": " + std::to_string(data_size - cursor) +
                                              " bytes after the last tensor are not covered by any tensor");
}

void SafetensorsFile::read(const StTensor& t, uint64_t begin, uint64_t len, void* dst) const {
  if (begin > t.end - t.begin || len > t.end - t.begin - begin)
    throw Error(err::kArgument, path() + ": read past the end of tensor " + quoted(t.name));
  file_->read_at(data_offset() + t.begin + begin, len, dst);
}

const StTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const StTensor& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

void SafetensorsFile::require_supported(const StTensor& t) const {
  if (!t.supported)
    throw Error(err::kDtype, path() + ": tensor " + quoted(t.name) + " has dtype " + t.dtype_name +
                                 "; supported dtypes are F32, F16 and BF16");
}

void write_safetensors(const std::string& path, std::vector<StTensorOut> tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::sort(tensors.begin(), tensors.end(), [](const StTensorOut& a, const StTensorOut& b) { return a.name < b.name; });
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].name == tensors[i - 1].name)
      throw Error(err::kArgument, path + ": duplicate tensor name " + quoted(tensors[i].name));

  std::vector<std::pair<std::string, json::Value>> members;
  if (!metadata.empty()) {
    std::vector<std::pair<std::string, json::Value>> meta;
    for (const auto& [k, v] : metadata) meta.emplace_back(k, json::make_string(v));
    members.emplace_back("__metadata__", json::make_object(std::move(meta)));
  }
  std::vector<uint64_t> bytes(tensors.size());
  uint64_t cursor = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    uint64_t numel = 1;
    std::vector<json::Value> dims;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(err::kArgument, path + ": tensor " + quoted(t.name) + " has a negative dimension");
      numel *= static_cast<uint64_t>(d);
      dims.push_back(json::make_int(d));
    }
    bytes[i] = numel * static_cast<uint64_t>(dtype_size(t.dtype));
    members.emplace_back(
        t.name, json::make_object(
                    {{"dtype", json::make_string(dtype_name(t.dtype))},
                     {"shape", json::make_array(std::move(dims))},
                     {"data_offsets", json::make_array({json::make_int(static_cast<int64_t>(cursor)),
                                                        json::make_int(static_cast<int64_t>(cursor + bytes[i]))})}}));
    cursor += bytes[i];
  }
  std::string header = json::write(json::make_object(std::move(members)));
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  uint64_t n = header.size();

  fileio::AtomicWriter w(path);
  w.write(&n, 8);
  w.write(header.data(), header.size());
  for (size_t i = 0; i < tensors.size(); ++i)
    if (bytes[i]) w.write(tensors[i].data, bytes[i]);
  w.commit();
}

}  // namespace dpzo
