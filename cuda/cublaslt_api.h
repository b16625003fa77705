// defines: the few cuBLASLt types, enum values and entry points the tensor-core GEMM uses (cuda/tensor_gemm.h),
// declared here so that no build ever needs cuBLAS: the library is loaded at run time with dlopen
// (cuda/cublaslt_loader.h). Values and layouts are NVIDIA's public cublasLt.h / cublas_api.h /
// library_types.h (checked against two copies; the cudaDataType values are also static_assert-ed against the
// toolkit's library_types.h in cuda/tensor_kernels.cu). Plain C++: no CUDA header.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dpzo {
namespace cuda {
namespace lt {

// Opaque handles: pointers the library hands out and takes back.
using Handle = void*;      // cublasLtHandle_t
using MatmulDesc = void*;  // cublasLtMatmulDesc_t
using Layout = void*;      // cublasLtMatrixLayout_t
using Pref = void*;        // cublasLtMatmulPreference_t
using Stream = void*;      // cudaStream_t (nullptr: the legacy default stream the backend uses)
using Status = int;        // cublasStatus_t

// cublasLtMatmulAlgo_t (uint64_t data[8]) and cublasLtMatmulHeuristicResult_t, byte for byte: the library
// writes an array of the latter.
struct Algo {
  uint64_t data[8];
};
struct HeuristicResult {
  Algo algo;
  size_t workspace_size;
  Status state;
  float waves_count;
  int reserved[4];
};
static_assert(sizeof(Algo) == 64 && sizeof(HeuristicResult) == 96, "cuBLASLt ABI");

constexpr Status kSuccess = 0;        // CUBLAS_STATUS_SUCCESS
constexpr Status kNotSupported = 15;  // CUBLAS_STATUS_NOT_SUPPORTED
constexpr int kOpN = 0;               // CUBLAS_OP_N
constexpr int kOpT = 1;               // CUBLAS_OP_T
// cudaDataType_t
constexpr int kR32F = 0;         // CUDA_R_32F
constexpr int kR16F = 2;         // CUDA_R_16F
constexpr int kR16BF = 14;       // CUDA_R_16BF
constexpr int kCompute32F = 68;  // CUBLAS_COMPUTE_32F (float accumulation, no down-conversion of inputs)
// cublasLtMatmulDescAttributes_t (int32_t values)
constexpr int kDescTransA = 3;  // CUBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 4;  // CUBLASLT_MATMUL_DESC_TRANSB
// cublasLtMatmulPreferenceAttributes_t
constexpr int kPrefMaxWorkspaceBytes = 1;  // uint64_t
constexpr int kPrefMinAlignA = 5;          // uint32_t bytes, default 256
constexpr int kPrefMinAlignB = 6;
constexpr int kPrefMinAlignC = 7;
constexpr int kPrefMinAlignD = 8;

// The entry points, resolved by dlsym (signatures of cublasLt.h with the handles above).
struct Api {
  Status (*create)(Handle*);                                   // cublasLtCreate
  Status (*destroy)(Handle);                                   // cublasLtDestroy
  size_t (*get_version)();                                     // cublasLtGetVersion
  Status (*desc_create)(MatmulDesc*, int compute, int scale);  // cublasLtMatmulDescCreate
  Status (*desc_destroy)(MatmulDesc);
  Status (*desc_set)(MatmulDesc, int attr, const void* buf, size_t bytes);
  Status (*layout_create)(Layout*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  Status (*layout_destroy)(Layout);
  Status (*pref_create)(Pref*);
  Status (*pref_destroy)(Pref);
  Status (*pref_set)(Pref, int attr, const void* buf, size_t bytes);
  Status (*heuristic)(Handle, MatmulDesc, Layout a, Layout b, Layout c, Layout d, Pref, int requested,
                      HeuristicResult* results, int* returned);
  Status (*matmul)(Handle, MatmulDesc, const void* alpha, const void* A, Layout, const void* B, Layout,
                   const void* beta, const void* C, Layout, void* D, Layout, const Algo*, void* workspace,
                   size_t workspace_bytes, Stream);
};

}  // namespace lt
}  // namespace cuda
}  // namespace dpzo
