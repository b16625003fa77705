// defines: the backend registry (dpzo/backend.h): which backends this build compiled, and the
// choice of one for a device name. The CUDA factory is referenced only in builds that compiled
// cuda/ (DPZO_HAVE_CUDA), so a CPU-only build (node-gyp) links without it.
#include <string>
#include <vector>

#include "dpzo/backend.h"
#include "dpzo/errors.h"

namespace dpzo {

std::vector<const BackendFactory*> compiled_backends() {
  std::vector<const BackendFactory*> out;
#ifdef DPZO_HAVE_CUDA
  out.push_back(&cuda_backend_factory());
#endif
  out.push_back(&cpu_backend_factory());
  return out;
}

int usable_cuda_devices() noexcept {
#ifdef DPZO_HAVE_CUDA
  return cuda_device_count();
#else
  return 0;
#endif
}

std::string compiled_backend_names() {
  std::string s = "cpu";
#ifdef DPZO_HAVE_CUDA
  s += ",cuda";
#endif
  return s;
}

const BackendFactory& select_backend(const std::string& device) {
  if (device == "cpu") return cpu_backend_factory();
  if (device == "auto") {
    for (const BackendFactory* f : compiled_backends())
      if (f->unavailable().empty()) return *f;
    return cpu_backend_factory();
  }
  if (device == "cuda") {
#ifdef DPZO_HAVE_CUDA
    const BackendFactory& f = cuda_backend_factory();
    const std::string why = f.unavailable();
    if (!why.empty())
      throw Error(err::kDevice, "device 'cuda' is not available: " + why + " (use device 'cpu' or 'auto')");
    return f;
#else
    throw Error(err::kDevice,
                "device 'cuda': this build of dpzo has no CUDA backend (nvcc was not found when it was built); "
                "use device 'cpu' or 'auto'");
#endif
  }
  throw Error(err::kArgument, "device must be 'cpu', 'cuda' or 'auto' (got '" + device + "')");
}

}  // namespace dpzo
