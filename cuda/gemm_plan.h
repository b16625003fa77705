// defines: the host-side decisions of the tensor-core GEMM, kept apart from any library call so that they
// are testable without a GPU (dpzo_check gemm-plan, test/native/tensor-gemm.test.ts): the env switches
// DPZO_CUDA_GEMM / DPZO_CUDA_POINT_GEMM, and the mapping of the row-major k::gemm contract onto cuBLASLt's
// column-major D = op(A)·op(B) + β·C.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"
#include "kernels.h"

namespace dpzo {
namespace cuda {

// DPZO_CUDA_GEMM: auto (tensor when the model is F16/BF16 and cuBLASLt loads and passes its self-test, else
// the SIMT kernel), simt, tensor (ERR_DEVICE when unavailable). Unset or empty: auto.
enum class GemmMode { Auto, Simt, Tensor };
// DPZO_CUDA_POINT_GEMM: how a weight read at a virtual point (float32) meets the tensor cores. split (default):
// w' = hi + lo, both 16-bit, two GEMMs (w' kept to ~16 mantissa bits); round: one GEMM with rn16(w'), for
// measuring only (it rounds the point's weights, which ARCHITECTURE §2 "Exactness" does not allow).
enum class PointGemm { Split, Round };

// Throw Error(ERR_ARGUMENT) naming the variable and the value when it is none of the spellings above.
GemmMode parse_gemm_mode(const char* value);
PointGemm parse_point_gemm(const char* value);
const char* gemm_mode_name(GemmMode m);

// One operand as a cuBLASLt matrix layout describes it: the stored matrix (before op), column-major.
struct LtOperand {
  int type = 0;  // cudaDataType
  int64_t rows = 0, cols = 0, ld = 0;
};

// out (M × N, row-major, ldo) = a (M × K, row-major, lda) · W(n, k)ᵀ, W stored (N, K) (OutIn) or (K, N)
// (InOut) with leading dimension ldw. Row-major X is column-major Xᵀ, so the library computes
// outᵀ (N × M) = W (N × K) · aᵀ (K × M): A = the weight, B = the activations, C = D = out.
struct LtPlan {
  int trans_a = 0, trans_b = 0;  // cublasOperation_t of A and B
  int64_t m = 0, n = 0, k = 0;   // D is m × n, op(A) m × k, op(B) k × n
  LtOperand a, b, c;             // c describes both C and D
};
LtPlan plan_lt(int64_t M, int64_t N, int64_t K, int64_t lda, int a_type, int64_t ldw, int w_type, k::Layout layout,
               int64_t ldo);

// cudaDataType of a stored dtype.
int lt_type(DType dt);

}  // namespace cuda
}  // namespace dpzo
