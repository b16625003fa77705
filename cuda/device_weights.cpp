// defines: DeviceBuffer, DeviceWeights (cuda/device_weights.h).
#include "device_weights.h"

#include <algorithm>
#include <string>

#include "cuda_backend.h"
#include "dpzo/errors.h"
#include "dpzo/random_init.h"
#include "kernels.h"

namespace dpzo {
namespace cuda {

DeviceBuffer::~DeviceBuffer() {
  device_free(p_);
  if (mem_ && bytes_) mem_->free(static_cast<int64_t>(bytes_), true);
}

void DeviceBuffer::release() noexcept {
  device_free(p_);
  if (mem_ && bytes_) mem_->free(static_cast<int64_t>(bytes_), true);
  p_ = nullptr;
  bytes_ = 0;
}

void* DeviceBuffer::ensure(size_t bytes) {
  if (bytes <= bytes_) return p_;
  void* p = device_alloc(bytes);  // throws ERR_DEVICE (out of memory) before anything changes
  device_free(p_);
  if (mem_) {
    if (bytes_) mem_->free(static_cast<int64_t>(bytes_), true);
    mem_->alloc(static_cast<int64_t>(bytes), true);
  }
  p_ = p;
  bytes_ = bytes;
  return p_;
}

namespace {
void translate(WeightView& v, const char* host_base, char* base) {
  if (v.data) v.data = base + (static_cast<const char*>(v.data) - host_base);
}
}  // namespace

DeviceWeights::DeviceWeights(const Model& m, MemoryTracker& mem) : mem_(mem) {
  const std::vector<TensorInfo>& ts = m.tensors();
  if (ts.empty()) throw Error(err::kArgument, "the CUDA backend needs a model with at least one tensor");
  const int64_t es = dtype_size(m.dtype());
  host_base_ = static_cast<const char*>(ts[0].data) - ts[0].offset * es;
  int64_t end = 0;
  for (const TensorInfo& t : ts) end = std::max(end, (t.offset + t.numel) * es);
  bytes_ = (end + 255) / 256 * 256;
  base_ = static_cast<char*>(device_alloc(static_cast<size_t>(bytes_)));
  mem_.alloc(bytes_, true);
  refresh(m);
}

void DeviceWeights::refresh(const Model& m) {
  w_ = m.weights();
  for (WeightView* v :
       {&w_.tok_emb, &w_.pos_emb, &w_.project_in, &w_.project_out, &w_.final_norm_w, &w_.final_norm_b, &w_.lm_head})
    translate(*v, host_base_, base_);
  for (LayerWeights& L : w_.layers)
    for (WeightView* v :
         {&L.norm1_w, &L.norm1_b, &L.norm2_w, &L.norm2_b, &L.qkv_w,  &L.qkv_b,  &L.q_w,      &L.q_b,     &L.k_w,
          &L.k_b,     &L.v_w,     &L.v_b,     &L.o_w,     &L.o_b,    &L.fc1_w,  &L.fc1_b,    &L.fc2_w,   &L.fc2_b,
          &L.gate_w,  &L.gate_b,  &L.up_w,    &L.up_b,    &L.down_w, &L.down_b, &L.q_norm_w, &L.k_norm_w})
      translate(*v, host_base_, base_);
}

DeviceWeights::~DeviceWeights() {
  device_free(base_);
  mem_.free(bytes_, true);
}

void* DeviceWeights::device_of(const void* host) const {
  const int64_t off = static_cast<const char*>(host) - host_base_;
  if (off < 0 || off >= bytes_) throw Error(err::kArgument, "cuda: a segment lies outside the model's weights");
  return base_ + off;
}

void DeviceWeights::upload(const Model& m, size_t index, const void* bytes) {
  const TensorInfo& t = m.tensors().at(index);
  const int64_t es = dtype_size(m.dtype());
  copy_to_device(base_ + t.offset * es, bytes, static_cast<size_t>(t.numel * es));
}

void DeviceWeights::init(const Model& m, size_t index, uint64_t seed, uint64_t first) {
  const TensorInfo& t = m.tensors().at(index);
  k::init_random(base_ + t.offset * dtype_size(m.dtype()), m.dtype(), static_cast<int>(init_kind(t.name, t.shape)),
                 seed, first, t.numel);
  synchronize();  // a launch fault surfaces here, during the load
}

void DeviceWeights::download(const Model& m) const {
  const int64_t es = dtype_size(m.dtype());
  for (const TensorInfo& t : m.tensors())
    copy_to_host(t.data, base_ + t.offset * es, static_cast<size_t>(t.numel * es));
}

}  // namespace cuda
}  // namespace dpzo
