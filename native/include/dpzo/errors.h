// defines: dpzo::Error, the only exception type the core throws.
// Every failure carries a stable code (ERR_*) that the N-API layer copies to
// the JS Error's `code`, and a message naming the file/tensor/field involved.
#pragma once
#include <stdexcept>
#include <string>

namespace dpzo {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

// Stable error codes (keep in sync with lib/native.ts `DpzoErrorCode`).
namespace err {
inline constexpr const char* kArgument = "ERR_ARGUMENT";                     // bad argument from the caller
inline constexpr const char* kIo = "ERR_IO";                                 // open/read/write/mmap failed
inline constexpr const char* kConfigMissing = "ERR_CONFIG_MISSING";          // no config.json in the directory
inline constexpr const char* kConfig = "ERR_CONFIG";                         // config.json malformed or a field invalid
inline constexpr const char* kModelType = "ERR_MODEL_TYPE";                  // model_type not gpt2/opt/llama
inline constexpr const char* kSafetensorsHeader = "ERR_SAFETENSORS_HEADER";  // header JSON/length invalid
inline constexpr const char* kSafetensorsTruncated = "ERR_SAFETENSORS_TRUNCATED";  // file shorter than declared
inline constexpr const char* kSafetensorsOffsets = "ERR_SAFETENSORS_OFFSETS";      // overlap/gap/size mismatch
inline constexpr const char* kDtype = "ERR_DTYPE";                                 // unsupported dtype
inline constexpr const char* kTensorMissing = "ERR_TENSOR_MISSING";                // an expected tensor is absent
inline constexpr const char* kTensorShape = "ERR_TENSOR_SHAPE";                    // a tensor has the wrong shape
inline constexpr const char* kTensorUnknown = "ERR_TENSOR_UNKNOWN";                // a name not known to the model
inline constexpr const char* kShardMissing = "ERR_SHARD_MISSING";                  // index names a missing shard
inline constexpr const char* kSeed = "ERR_SEED";                       // seed not a non-negative integer < 2^64
inline constexpr const char* kTokenRange = "ERR_TOKEN_RANGE";          // token id outside [0, vocab)
inline constexpr const char* kSequenceLength = "ERR_SEQUENCE_LENGTH";  // longer than max positions
inline constexpr const char* kBatch = "ERR_BATCH";                     // malformed batch (labels length, empty)
inline constexpr const char* kCancelled = "ERR_CANCELLED";             // cancelled through the cancel flag
inline constexpr const char* kDevice = "ERR_DEVICE";                   // device not available (e.g. no CUDA)
inline constexpr const char* kDisposed = "ERR_DISPOSED";               // model used after dispose()
inline constexpr const char* kBusy = "ERR_BUSY";                       // a synchronous read while native work runs
inline constexpr const char* kNonFinite = "ERR_NON_FINITE";  // NaN/Inf in weights, or an update that would make one
}  // namespace err

}  // namespace dpzo
