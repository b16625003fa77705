// defines: HostCopy — the Model's host buffer of weights while the device holds the weights. The loader
// streams the weights to the device without touching that buffer (an unpopulated mapping, not accounted),
// so a model on the GPU does not also hold its weights in host RAM.
// When the host needs the weights (Backend::sync_host: getParameter, save, weightsHash, the overflow
// rescan) they are copied back from the device; the next write on the device gives the pages back (Linux:
// madvise MADV_DONTNEED on the pages wholly inside the buffer; they read as zeros until written).
// Correctness never depends on madvise: the copy is refilled whenever it is not current.
#pragma once
#include <cstdint>

#include "device_weights.h"
#include "dpzo/model.h"

namespace dpzo {
namespace cuda {

class HostCopy {
 public:
  HostCopy(Model& m, const DeviceWeights& dw);
  // The device is about to be (or was) written: the host copy is no longer current; its pages go back.
  void release();
  // Copies the device weights into the host buffer unless it is current.
  void make_current();

 private:
  Model& m_;
  const DeviceWeights& dw_;
  char* lo_ = nullptr;  // the page-aligned interior of the host buffer
  int64_t bytes_ = 0;
  bool current_ = false, returned_ = true;  // at load: never populated, never counted
};

}  // namespace cuda
}  // namespace dpzo
