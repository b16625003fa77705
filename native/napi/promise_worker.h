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
  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(convert_(Env(), result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) override {
    Napi::HandleScope scope(Env());
    deferred_.Reject(make_error(Env(), code_, message_).Value());
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
