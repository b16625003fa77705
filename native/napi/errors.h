// defines: to_js_error (a dpzo::Error or std::exception as a JS Error with a
// stable `code`), throw_js, and the guard macro used by every synchronous entry.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

namespace dpzo::napi {

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message);
// Classifies the in-flight exception into (code, message).
void describe_current_exception(std::string& code, std::string& message);

// Runs fn, turning any C++ exception into a thrown JS Error with a code.
template <class F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    std::string code, message;
    describe_current_exception(code, message);
    throw make_error(env, code, message);
  }
}

}  // namespace dpzo::napi
