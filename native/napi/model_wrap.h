// defines: ModelWrap, the JS class over dpzo::Model. Long calls are
// PromiseWorkers and cancel() flags every in-flight op's CancelToken.
// Serialisation: the authority is the JS queue of lib/model/model.ts
// (NativeBackedModel.enqueue), which starts one op per model at a time, in call
// order, and can drop a queued op on abort before it starts. op_mutex is only
// the safety net for callers of the raw addon, so that no two ops race on the
// weights; under the queue it is never contended. An op that finds it held waits in its worker thread
// (never on the JS thread); getParameter, which runs on the JS thread, fails
// with ERR_BUSY instead.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <set>

#include "dpzo/model.h"

namespace dpzo::napi {

struct ModelHandle {
  std::unique_ptr<Model> model;
  std::mutex op_mutex;  // serialises native work on this model's weights
  std::mutex tokens_mutex;
  std::set<std::shared_ptr<CancelToken>> in_flight;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<ModelHandle> handle);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<ModelHandle> handle(Napi::Env env);
  Napi::Value Info(const Napi::CallbackInfo& info);
  static Napi::Value info_of(Napi::Env env, const Model& m);
  Napi::Value GetParameter(const Napi::CallbackInfo& info);
  Napi::Value Perturb(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value AddDense(const Napi::CallbackInfo& info);
  Napi::Value GetTrainable(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value Decay(const Napi::CallbackInfo& info);
  Napi::Value PerExampleLoss(const Napi::CallbackInfo& info);
  Napi::Value LossAndGradient(const Napi::CallbackInfo& info);
  Napi::Value PerExampleGradNorms(const Napi::CallbackInfo& info);
  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value WeightsHash(const Napi::CallbackInfo& info);
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<ModelHandle> handle_;
  // the same handle, kept past dispose() for cancel(): ops still running hold it alive
  std::weak_ptr<ModelHandle> cancel_target_;
};

}  // namespace dpzo::napi
