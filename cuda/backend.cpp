// defines: cuda_backend_factory (dpzo/backend.h) — the CUDA backend's entry in the registry.
// The seeded update kernels exist (philox_perturb.cu, bit-identical to the CPU's); the forward
// kernels do not yet (issue 12), so create() refuses with ERR_DEVICE naming the reason instead
// of running a model half on the GPU. Includes only native/include headers and this folder's.
#include <memory>
#include <string>

#include "cuda_backend.h"
#include "dpzo/backend.h"
#include "dpzo/errors.h"

namespace dpzo {
namespace {

std::string cuda_unavailable() {
  if (!cuda::available()) return "no CUDA device is visible to this process";
  return "the CUDA backend's forward kernels are not implemented yet (only the seeded update is)";
}

std::unique_ptr<Backend> cuda_create(Model&) { throw Error(err::kDevice, "device 'cuda': " + cuda_unavailable()); }

}  // namespace

const BackendFactory& cuda_backend_factory() {
  static const BackendFactory f{"cuda", &cuda_unavailable, &cuda_create};
  return f;
}

}  // namespace dpzo
