// defines: HostCopy (cuda/host_copy.h).
#include "host_copy.h"

#include <algorithm>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace dpzo {
namespace cuda {

HostCopy::HostCopy(Model& m, const DeviceWeights& dw) : m_(m), dw_(dw) {
#if defined(__linux__)
  const std::vector<TensorInfo>& ts = m.tensors();
  const int64_t es = dtype_size(m.dtype());
  const uintptr_t base = reinterpret_cast<uintptr_t>(ts[0].data) - static_cast<uintptr_t>(ts[0].offset * es);
  int64_t end = 0;
  for (const TensorInfo& t : ts) end = std::max(end, (t.offset + t.numel) * es);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (base + page - 1) / page * page, hi = (base + static_cast<uintptr_t>(end)) / page * page;
  if (hi > lo) {  // only pages wholly inside the buffer: the allocator may keep its own data around it
    lo_ = reinterpret_cast<char*>(lo);
    bytes_ = static_cast<int64_t>(hi - lo);
  }
#endif
}

void HostCopy::release() {
  current_ = false;
  if (returned_ || bytes_ == 0) return;
#if defined(__linux__)
  if (madvise(lo_, static_cast<size_t>(bytes_), MADV_DONTNEED) != 0) return;  // the copy merely stays resident
  returned_ = true;
  m_.memory_tracker().free(bytes_);
#endif
}

void HostCopy::make_current() {
  if (current_) return;
  dw_.download(m_);
  current_ = true;
  if (returned_) {
    returned_ = false;
    m_.memory_tracker().alloc(bytes_);
  }
}

}  // namespace cuda
}  // namespace dpzo
