// defines: cuda/attention_plan.h.
#include "attention_plan.h"

#include <cstring>
#include <string>

#include "dpzo/errors.h"

namespace dpzo {
namespace cuda {

AttentionKernel parse_attention_kernel(const char* v) {
  if (!v || !*v || std::strcmp(v, "warp") == 0) return AttentionKernel::Warp;
  if (std::strcmp(v, "tiled") == 0) return AttentionKernel::Tiled;
  throw Error(err::kArgument, std::string("DPZO_CUDA_ATTENTION: '") + v + "' is not one of warp, tiled");
}

const char* attention_kernel_name(AttentionKernel k) { return k == AttentionKernel::Tiled ? "tiled" : "warp"; }

}  // namespace cuda
}  // namespace dpzo
