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

std::vector<DeviceInfo> cuda_devices() noexcept {
#ifdef DPZO_HAVE_CUDA
  return cuda_device_list();
#else
  return {};
#endif
}

namespace {

// "cuda" → 0, "cuda:N" → N (decimal, no sign, no leading zeros beyond "0", N ≤ 1023); -1 when not a cuda name
// at all; throws ERR_ARGUMENT naming the value when it starts with "cuda:" but N is malformed.
int cuda_index(const std::string& device) {
  if (device == "cuda") return 0;
  if (device.compare(0, 5, "cuda:") != 0) return -1;
  const std::string n = device.substr(5);
  const bool digits = !n.empty() && n.size() <= 4 && n.find_first_not_of("0123456789") == std::string::npos &&
                      (n.size() == 1 || n[0] != '0');
  if (!digits || std::stoi(n) > 1023)
    throw Error(err::kArgument,
                "device '" + device + "': the index after 'cuda:' must be a decimal integer in [0, 1023]");
  return std::stoi(n);
}

}  // namespace

const BackendFactory& select_backend(const std::string& device, int* index) {
  if (index) *index = 0;
  if (device == "cpu") return cpu_backend_factory();
  if (device == "auto") {
    for (const BackendFactory* f : compiled_backends())
      if (f->unavailable(0).empty()) return *f;
    return cpu_backend_factory();
  }
  const int n = cuda_index(device);
  if (n >= 0) {
#ifdef DPZO_HAVE_CUDA
    const BackendFactory& f = cuda_backend_factory();
    const std::string why = f.unavailable(n);
    if (!why.empty())
      throw Error(err::kDevice, "device '" + device + "' is not available: " + why + " (use device 'cpu' or 'auto')");
    if (index) *index = n;
    return f;
#else
    throw Error(err::kDevice, "device '" + device +
                                  "': this build of dpzo has no CUDA backend (nvcc was not found when it was built); "
                                  "use device 'cpu' or 'auto'");
#endif
  }
  throw Error(err::kArgument, "device must be 'cpu', 'cuda', 'cuda:N' or 'auto' (got '" + device + "')");
}

}  // namespace dpzo
