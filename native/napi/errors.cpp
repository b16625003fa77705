// defines: the C++-exception -> JS Error mapping of the binding.
#include "napi/errors.h"

#include <new>

#include "dpzo/errors.h"

namespace dpzo::napi {

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void describe_current_exception(std::string& code, std::string& message) {
  try {
    throw;
  } catch (const dpzo::Error& e) {
    code = e.code();
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = "ERR_OUT_OF_MEMORY";
    message = "dpzo: out of memory";
  } catch (const std::exception& e) {
    code = "ERR_INTERNAL";
    message = std::string("dpzo internal error: ") + e.what();
  } catch (...) {
    code = "ERR_INTERNAL";
    message = "dpzo internal error (unknown exception)";
  }
}

}  // namespace dpzo::napi
