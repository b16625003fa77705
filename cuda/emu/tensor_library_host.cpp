// defines: tensor_library (cuda/tensor_gemm.h) in the host emulation. Device memory is host memory here, so a
// real cuBLASLt must never be handed these pointers: by default there is none (auto falls back to the SIMT
// loops silently, DPZO_CUDA_GEMM=tensor is ERR_DEVICE naming this reason). With DPZO_CUDA_EMU_LT=1 (tests
// only) it is a stand-in written from cuBLASLt's documented semantics, not from our mapping: column-major
// layouts (rows, cols, ld ≥ rows), D = α·op(A)·op(B) + β·C with C not read when β = 0, dimensions checked
// by the heuristic (DPZO_CUDA_EMU_LT_BREAK=f16|bf16 breaks that type's products). The tensor path's host code
// (gemm_plan.h's mapping, the split, the bias, the self-test) then runs end to end against the CPU backend
// (test/native/tensor-gemm.test.ts).
#include <cstdlib>
#include <cstring>

#include "tensor_gemm.h"

namespace dpzo {
namespace cuda {
namespace {

constexpr lt::Status kInvalid = 7;  // CUBLAS_STATUS_INVALID_VALUE

struct Desc {
  int trans_a = lt::kOpN, trans_b = lt::kOpN;
};
struct Lay {
  int type;
  int64_t rows, cols, ld;
};

float at(const Lay& l, const void* p, int64_t r, int64_t c) {
  const int64_t i = r + c * l.ld;
  if (l.type == lt::kR32F) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return l.type == lt::kR16F ? f16_to_f32(h) : bf16_to_f32(h);
}
// op(X) dimensions
int64_t op_rows(const Lay& l, int t) { return t == lt::kOpN ? l.rows : l.cols; }
int64_t op_cols(const Lay& l, int t) { return t == lt::kOpN ? l.cols : l.rows; }

lt::Status create(lt::Handle* h) {
  *h = new int(0);
  return lt::kSuccess;
}
lt::Status destroy(lt::Handle h) {
  delete static_cast<int*>(h);
  return lt::kSuccess;
}
size_t version() { return 0; }
lt::Status desc_create(lt::MatmulDesc* d, int compute, int scale) {
  if (compute != lt::kCompute32F || scale != lt::kR32F) return kInvalid;
  *d = new Desc;
  return lt::kSuccess;
}
lt::Status desc_destroy(lt::MatmulDesc d) {
  delete static_cast<Desc*>(d);
  return lt::kSuccess;
}
lt::Status desc_set(lt::MatmulDesc d, int attr, const void* buf, size_t bytes) {
  if (bytes != 4) return kInvalid;
  int32_t v;
  std::memcpy(&v, buf, 4);
  if (v != lt::kOpN && v != lt::kOpT) return kInvalid;
  if (attr == lt::kDescTransA)
    static_cast<Desc*>(d)->trans_a = v;
  else if (attr == lt::kDescTransB)
    static_cast<Desc*>(d)->trans_b = v;
  else
    return kInvalid;
  return lt::kSuccess;
}
lt::Status layout_create(lt::Layout* l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
  if (type != lt::kR32F && type != lt::kR16F && type != lt::kR16BF) return kInvalid;
  if (ld < static_cast<int64_t>(rows) || rows == 0 || cols == 0) return kInvalid;
  *l = new Lay{type, static_cast<int64_t>(rows), static_cast<int64_t>(cols), ld};
  return lt::kSuccess;
}
lt::Status layout_destroy(lt::Layout l) {
  delete static_cast<Lay*>(l);
  return lt::kSuccess;
}
lt::Status pref_create(lt::Pref* p) {
  *p = new int(0);
  return lt::kSuccess;
}
lt::Status pref_destroy(lt::Pref p) {
  delete static_cast<int*>(p);
  return lt::kSuccess;
}
lt::Status pref_set(lt::Pref, int attr, const void*, size_t bytes) {
  if (attr == lt::kPrefMaxWorkspaceBytes) return bytes == 8 ? lt::kSuccess : kInvalid;
  if (attr >= lt::kPrefMinAlignA && attr <= lt::kPrefMinAlignD) return bytes == 4 ? lt::kSuccess : kInvalid;
  return kInvalid;
}
bool consistent(const Desc& d, const Lay& a, const Lay& b, const Lay& c) {
  return op_rows(a, d.trans_a) == c.rows && op_cols(b, d.trans_b) == c.cols &&
         op_cols(a, d.trans_a) == op_rows(b, d.trans_b) && c.type == lt::kR32F && a.type == b.type;
}
lt::Status heuristic(lt::Handle, lt::MatmulDesc d, lt::Layout a, lt::Layout b, lt::Layout c, lt::Layout dd, lt::Pref,
                     int requested, lt::HeuristicResult* res, int* returned) {
  if (requested < 1 || c != dd) return kInvalid;
  if (!consistent(*static_cast<Desc*>(d), *static_cast<Lay*>(a), *static_cast<Lay*>(b), *static_cast<Lay*>(c)))
    return kInvalid;
  std::memset(res, 0, sizeof *res);
  res->state = lt::kSuccess;
  *returned = 1;
  return lt::kSuccess;
}
lt::Status matmul(lt::Handle, lt::MatmulDesc dp, const void* alpha, const void* A, lt::Layout al, const void* B,
                  lt::Layout bl, const void* beta, const void* C, lt::Layout cl, void* D, lt::Layout dl,
                  const lt::Algo*, void*, size_t, lt::Stream) {
  const Desc& d = *static_cast<Desc*>(dp);
  const Lay &a = *static_cast<Lay*>(al), &b = *static_cast<Lay*>(bl), &c = *static_cast<Lay*>(cl);
  if (cl != dl || !consistent(d, a, b, c)) return kInvalid;
  const float al_v = *static_cast<const float*>(alpha), be_v = *static_cast<const float*>(beta);
  const int64_t K = op_cols(a, d.trans_a);
  // DPZO_CUDA_EMU_LT_BREAK=f16|bf16 (tests only): a library whose kernels for that type are wrong, off by one
  const char* brk = std::getenv("DPZO_CUDA_EMU_LT_BREAK");
  const float off = brk && ((std::strcmp(brk, "f16") == 0 && a.type == lt::kR16F) ||
                            (std::strcmp(brk, "bf16") == 0 && a.type == lt::kR16BF))
                        ? 1.0f
                        : 0.0f;
  for (int64_t j = 0; j < c.cols; ++j)
    for (int64_t i = 0; i < c.rows; ++i) {
      float s = 0;
      for (int64_t p = 0; p < K; ++p) {
        const float x = d.trans_a == lt::kOpN ? at(a, A, i, p) : at(a, A, p, i);
        const float y = d.trans_b == lt::kOpN ? at(b, B, p, j) : at(b, B, j, p);
        s += x * y;
      }
      float& o = static_cast<float*>(D)[i + j * c.ld];
      o = al_v * s + (be_v != 0.0f ? be_v * static_cast<const float*>(C)[i + j * c.ld] : 0.0f) + off;
    }
  return lt::kSuccess;
}

}  // namespace

const LtLibrary* tensor_library(std::string* why) {
  const char* v = std::getenv("DPZO_CUDA_EMU_LT");
  if (!v || std::strcmp(v, "1") != 0) {
    *why = "the host emulation has no cuBLASLt";
    return nullptr;
  }
  static const LtLibrary lib = [] {
    LtLibrary l;
    l.api = lt::Api{create,         destroy,     version,      desc_create, desc_destroy, desc_set, layout_create,
                    layout_destroy, pref_create, pref_destroy, pref_set,    heuristic,    matmul};
    l.path = "emulated cuBLASLt (DPZO_CUDA_EMU_LT=1)";
    return l;
  }();
  return &lib;
}

}  // namespace cuda
}  // namespace dpzo
