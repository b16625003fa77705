// defines: CancelToken::check (see dpzo/model.h).
#include "dpzo/errors.h"
#include "dpzo/model.h"

namespace dpzo {

void CancelToken::check() const {
  if (cancelled.load(std::memory_order_relaxed)) throw Error(err::kCancelled, "operation cancelled");
}

}  // namespace dpzo
