// defines: PromiseWorker, an AsyncWorker that runs a C++ closure on the libuv
// pool, resolves a Promise with its converted result, and rejects with a coded
// JS Error on any exception. It holds a reference to the wrapping JS object
// so the model stays alive while native work runs.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "napi/errors.h"

namespace dpzo::napi {

template <class R>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Exec = std::function<R()>;
  using Convert = std::function<Napi::Value(Napi::Env, R&)>;

  static Napi::Promise Start(Napi::Env env, const char* name, Exec exec, Convert convert,
                             Napi::Object keep_alive = Napi::Object()) {
    auto* w = new PromiseWorker(env, name, std::move(exec), std::move(convert), keep_alive);
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      result_ = exec_();
    } catch (...) {
      describe_current_exception(code_, message_);
      SetError(message_);
    }
  }
  // Neither may throw: node-addon-api turns an exception out of OnOK/OnError into a JS throw, and where the
  // environment can no longer run JS (a worker thread terminated while the op ran) that throw was
  // std::terminate, i.e. SIGABRT of the whole process. There is then nothing left to settle.
  void OnOK() override {
    try {
      Napi::HandleScope scope(Env());
      Napi::Value v;
      try {
        v = convert_(Env(), result_);
      } catch (...) {
        // the result could not be handed to JS (a typed array too large to allocate): a coded rejection
        describe_current_exception(code_, message_);
        deferred_.Reject(make_error(Env(), code_, message_).Value());
        return;
      }
      deferred_.Resolve(v);
    } catch (...) {
    }
  }
  void OnError(const Napi::Error&) override {
    try {
      Napi::HandleScope scope(Env());
      deferred_.Reject(make_error(Env(), code_, message_).Value());
    } catch (...) {
    }
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, Exec exec, Convert convert, Napi::Object keep_alive)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        exec_(std::move(exec)),
        convert_(std::move(convert)) {
    if (!keep_alive.IsEmpty()) keep_ = Napi::Persistent(keep_alive);
  }
  Napi::Promise::Deferred deferred_;
  Exec exec_;
  Convert convert_;
  Napi::ObjectReference keep_;
  R result_{};
  std::string code_, message_;
};

struct Nothing {};

}  // namespace dpzo::napi
