// defines: DeviceBuffer (grow-only device memory accounted in the model's MemoryTracker) and DeviceWeights:
// a model's parameters on the device in their stored dtype, one allocation per model.
//
// Layout (docs/cuda.md): the device buffer mirrors the Model's host layout byte for byte — tensors in
// canonical order (Hugging Face names in byte order), each 64-byte aligned — so device address = base +
// (host address − host base), and a Segment or WeightView translates by one subtraction. Canonical order
// keeps every block's tensors contiguous ("<prefix>.<i>." sorts as one run), so the later per-layer
// streaming mode (weights in pinned host memory, one block copied ahead while the previous computes) is a
// copy of one byte range per block into a ring of block-sized device slots, not a new layout.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "dpzo/backend.h"
#include "dpzo/model.h"
#include "dpzo/weights.h"

namespace dpzo {
namespace cuda {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(MemoryTracker* mem = nullptr) : mem_(mem) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();
  // At least `bytes` of device memory (contents lost when it grows).
  void* ensure(size_t bytes);
  template <class T>
  T* ensure_n(int64_t n) {
    return static_cast<T*>(ensure(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T)));
  }
  void* data() const { return p_; }
  // Gives the memory back (a buffer that lives for one call, as the KV cache of generate).
  void release() noexcept;
  // Exchanges the memory of two buffers that count in the same tracker (the KV cache grown into a new one).
  void swap(DeviceBuffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
  }

 private:
  MemoryTracker* mem_;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

class DeviceWeights {
 public:
  // Allocates the model's parameter bytes on the device (contents undefined until every tensor has been
  // uploaded or initialised: Model::load streams them in, Backend::write_tensor / init_tensor).
  DeviceWeights(const Model& m, MemoryTracker& mem);
  ~DeviceWeights();
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  // The model's typed views with device pointers (global offsets as on the host).
  const ModelWeights& weights() const { return w_; }
  // Re-reads the views from the model (no copy of weights): the trainable set, hence every view's global
  // offset, may have changed since the upload. Cheap (one pass over the views); the forward calls it first.
  void refresh(const Model& m);
  // The device address of a host address inside the model's weight buffer.
  void* device_of(const void* host) const;
  // Tensor `index` of m.tensors(): its bytes (model dtype, host memory) copied in, or initialised on the
  // device (dpzo/random_init.h, first = its first element's index over all tensors).
  void upload(const Model& m, size_t index, const void* bytes);
  void init(const Model& m, size_t index, uint64_t seed, uint64_t first);
  // Copies every tensor back into the model's host buffer (Backend::sync_host).
  void download(const Model& m) const;
  int64_t bytes() const { return bytes_; }

 private:
  MemoryTracker& mem_;
  const char* host_base_ = nullptr;
  char* base_ = nullptr;
  int64_t bytes_ = 0;
  ModelWeights w_;
};

}  // namespace cuda
}  // namespace dpzo
