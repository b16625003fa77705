#include <napi.h>
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backends", Napi::String::New(env, DPZO_BACKENDS));
  return exports;
}
NODE_API_MODULE(dpzo, Init)
