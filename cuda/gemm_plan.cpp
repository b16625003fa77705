// defines: cuda/gemm_plan.h.
#include "gemm_plan.h"

#include <cstring>
#include <string>

#include "cublaslt_api.h"
#include "dpzo/errors.h"

namespace dpzo {
namespace cuda {

GemmMode parse_gemm_mode(const char* v) {
  if (!v || !*v || std::strcmp(v, "auto") == 0) return GemmMode::Auto;
  if (std::strcmp(v, "simt") == 0) return GemmMode::Simt;
  if (std::strcmp(v, "tensor") == 0) return GemmMode::Tensor;
  throw Error(err::kArgument, std::string("DPZO_CUDA_GEMM: '") + v + "' is not one of auto, simt, tensor");
}

PointGemm parse_point_gemm(const char* v) {
  if (!v || !*v || std::strcmp(v, "split") == 0) return PointGemm::Split;
  if (std::strcmp(v, "round") == 0) return PointGemm::Round;
  throw Error(err::kArgument, std::string("DPZO_CUDA_POINT_GEMM: '") + v + "' is not one of split, round");
}

const char* gemm_mode_name(GemmMode m) {
  switch (m) {
    case GemmMode::Simt:
      return "simt";
    case GemmMode::Tensor:
      return "tensor";
    default:
      return "auto";
  }
}

int lt_type(DType dt) {
  switch (dt) {
    case DType::F16:
      return lt::kR16F;
    case DType::BF16:
      return lt::kR16BF;
    default:
      return lt::kR32F;
  }
}

LtPlan plan_lt(int64_t M, int64_t N, int64_t K, int64_t lda, int a_type, int64_t ldw, int w_type, k::Layout layout,
               int64_t ldo) {
  LtPlan p;
  p.m = N;
  p.n = M;
  p.k = K;
  // A = W as op(A) = N × K. (N, K) row-major with ldw is column-major K × N: transposed. (K, N) row-major
  // with ldw is column-major N × K: as is.
  if (layout == k::Layout::OutIn) {
    p.trans_a = lt::kOpT;
    p.a = {w_type, K, N, ldw};
  } else {
    p.trans_a = lt::kOpN;
    p.a = {w_type, N, K, ldw};
  }
  // B = aᵀ (K × M): a (M, K) row-major with lda is column-major K × M
  p.trans_b = lt::kOpN;
  p.b = {a_type, K, M, lda};
  // C = D = outᵀ (N × M): out (M, N) row-major with ldo
  p.c = {lt::kR32F, N, M, ldo};
  return p;
}

}  // namespace cuda
}  // namespace dpzo
