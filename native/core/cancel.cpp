// defines: CancelToken::check (see dpzo/cancel.h).
#include "dpzo/errors.h"
#include "dpzo/cancel.h"

namespace dpzo {

void CancelToken::check() const {
  if (cancelled.load(std::memory_order_relaxed)) throw Error(err::kCancelled, "operation cancelled");
}

}  // namespace dpzo
