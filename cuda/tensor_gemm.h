// defines: TensorGemm — the k::gemm contract (out (+)= a·Wᵀ + bias, both weight layouts) on the tensor cores
// through cuBLASLt loaded at run time, for F16/BF16 models: the float32 activations converted to the weight's
// 16-bit type, the weights read in place, float32 accumulation and output (compute 32F). At a virtual point
// the float32 weight w' is split into hi = rn16(w') and lo = rn16(w' − hi) and both GEMMs are accumulated
// (docs/cuda.md "The tensor path"). Which path a model gets is decided once, when its Forward is built:
// DPZO_CUDA_GEMM (gemm_plan.h), the model's dtype, the library (cublaslt_loader.h) and a self-test per
// process, device and dtype against k::gemm. Every cuBLASLt status is checked; a failure is Error(ERR_DEVICE).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "cublaslt_loader.h"
#include "device_weights.h"
#include "gemm_plan.h"
#include "kernels.h"

namespace dpzo {
namespace cuda {

// The library the tensor path may use in this build: the process's cuBLASLt on a GPU build, none in the
// host emulation (cuda/emu/tensor_library_host.cpp), so that there auto falls back silently.
const LtLibrary* tensor_library(std::string* why);

class TensorGemm {
 public:
  // Throws Error(ERR_ARGUMENT) for a bad DPZO_CUDA_GEMM / DPZO_CUDA_POINT_GEMM and Error(ERR_DEVICE) when
  // DPZO_CUDA_GEMM=tensor and the path is unavailable for this model.
  TensorGemm(DType model_dtype, MemoryTracker& mem);
  ~TensorGemm();
  TensorGemm(const TensorGemm&) = delete;
  TensorGemm& operator=(const TensorGemm&) = delete;

  bool on() const { return on_; }
  // True when a weight of `dt` goes through the tensor path (the model's 16-bit dtype).
  bool serves(DType dt) const { return on_ && dt == dtype_; }
  PointGemm point() const { return point_; }
  // "tensor (cuBLASLt <library>, version N)" or "simt (<why>)".
  const std::string& path() const { return path_; }
  // lo_scale of split_at for a dtype: a power of two (F16: 2^10, so the residual stays a normal half)
  static float lo_scale_of(DType dt) { return dt == DType::F16 ? 1024.0f : 1.0f; }
  float lo_scale() const { return lo_scale_of(dtype_); }

  // out (+)= a·W(n, k)ᵀ + bias with W 16-bit (w.dtype = the model's dtype), used in place.
  void gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat w, k::Layout layout, k::Mat bias,
            float* out, int64_t ldo, bool accumulate);
  // out (+)= a·(hi + lo/lo_scale)ᵀ + bias; hi, lo 16-bit with leading dimension hi.ld; lo may be null.
  // a16: a already converted by convert() (the row chunks of one weight share it), else null.
  void gemm_split(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat hi, const void* lo,
                  k::Layout layout, k::Mat bias, float* out, int64_t ldo, bool accumulate, const void* a16 = nullptr);
  // a (M×K, leading dimension lda) rounded to the model's 16-bit type in the one activation buffer (valid until
  // the next conversion)
  const void* convert(const float* a, int64_t M, int64_t K, int64_t lda);

  // Prepared shapes held at most: M (the batch's tokens) changes with every Poisson batch, so a cache keyed on
  // it grew for the whole run (four cuBLASLt objects and a heuristic per entry); past this it starts over.
  static constexpr size_t kMaxPrepared = 256;
  size_t prepared() const { return cache_.size(); }

 private:
  struct Prepared {
    void* desc = nullptr;
    void* a = nullptr;
    void* b = nullptr;
    void* c = nullptr;
    lt::Algo algo{};
    bool ok = false;  // the heuristic found an algorithm
  };
  using Key = std::array<int64_t, 16>;

  void check(lt::Status s, const char* what) const;
  const Prepared& prepare(const LtPlan& p, const void* A, const void* B, const float* C);
  void fill(Prepared& r, const LtPlan& p, uint32_t aa, uint32_t ab, uint32_t ac);
  // out (+)= alpha·a16·Wᵀ (+ bias first); false when no algorithm exists for the shape (nothing written)
  bool run(int64_t M, int64_t N, int64_t K, const void* a16, k::Mat w, k::Layout layout, k::Mat bias, float* out,
           int64_t ldo, bool accumulate, float alpha);
  std::string start();
  std::string self_test();
  void release_library() noexcept;
  void destroy(Prepared& r) noexcept;

  DType dtype_;
  bool on_ = false;
  PointGemm point_ = PointGemm::Split;
  std::string path_;
  const LtLibrary* lib_ = nullptr;
  void* handle_ = nullptr;
  DeviceBuffer a16_, ws_;
  std::map<Key, Prepared> cache_;
};

}  // namespace cuda
}  // namespace dpzo
