// defines: ModelWrap methods (see model_wrap.h).
#include "napi/model_wrap.h"

#include <cmath>
#include <cstdint>
#include <functional>

#include "dpzo/errors.h"
#include "dpzo/forward.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/promise_worker.h"

namespace dpzo::napi {

namespace {

// The most elements of one typed array (V8's limit on 64-bit Node 20: new Float32Array(2 ** 32 + 1) throws).
constexpr double kMaxTypedArrayLength = 4294967296.0;

// Registers a CancelToken for the duration of one op and takes the op lock.
struct OpScope {
  std::shared_ptr<ModelHandle> h;
  std::shared_ptr<CancelToken> token;
  std::unique_lock<std::mutex> lock;
  explicit OpScope(std::shared_ptr<ModelHandle> handle, std::shared_ptr<CancelToken> t)
      : h(std::move(handle)), token(std::move(t)), lock(h->op_mutex) {
    token->check();  // cancelled while queued
  }
  ~OpScope() {
    std::lock_guard<std::mutex> lk(h->tokens_mutex);
    h->in_flight.erase(token);
  }
};

std::shared_ptr<CancelToken> new_token(ModelHandle& h) {
  auto t = std::make_shared<CancelToken>();
  std::lock_guard<std::mutex> lk(h.tokens_mutex);
  h.in_flight.insert(t);
  return t;
}

PackedBatch read_batch(const Napi::Object& o, bool need_labels) {
  PackedBatch b;
  b.tokens = read_i32(o.Get("tokens"), "batch.tokens");
  b.offsets = read_i32_as_i64(o.Get("offsets"), "batch.offsets");
  if (need_labels) {
    Napi::Value l = o.Get("labels");
    if (!l.IsUndefined() && !l.IsNull()) b.labels = read_i32(l, "batch.labels");
    Napi::Value c = o.Get("candidates");
    if (!c.IsUndefined() && !c.IsNull()) b.candidates = read_i32(c, "batch.candidates");
  }
  return b;
}

// Queues `work` on the libuv pool as one op of this model: it holds the op
// lock and a CancelToken for its duration, and resolves through `convert`.
template <class R>
Napi::Value start_op(Napi::Env env, const char* name, Napi::Object self, std::shared_ptr<ModelHandle> h,
                     std::function<R(Model&, const CancelToken*)> work, typename PromiseWorker<R>::Convert convert) {
  auto token = new_token(*h);
  return PromiseWorker<R>::Start(
      env, name,
      [h, token, work = std::move(work)]() {
        OpScope op(h, token);
        return work(*h->model, token.get());
      },
      std::move(convert), self);
}

// An op that resolves to undefined.
Napi::Value start_void_op(Napi::Env env, const char* name, Napi::Object self, std::shared_ptr<ModelHandle> h,
                          std::function<void(Model&)> work) {
  return start_op<Nothing>(
      env, name, self, std::move(h),
      [work = std::move(work)](Model& m, const CancelToken*) {
        work(m);
        return Nothing{};
      },
      [](Napi::Env e, Nothing&) { return e.Undefined(); });
}

// A std::vector copied into a new typed array of the same element type.
template <class TA, class T>
TA to_typed(Napi::Env env, const std::vector<T>& v) {
  auto a = TA::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

Napi::Object config_to_js(Napi::Env env, const ModelConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modelType", family_name(c.family));
  o.Set("rawModelType", c.model_type);
  o.Set("vocabSize", double(c.vocab_size));
  o.Set("hiddenSize", double(c.hidden_size));
  o.Set("numLayers", double(c.num_layers));
  o.Set("numHeads", double(c.num_heads));
  o.Set("numKvHeads", double(c.num_kv_heads));
  o.Set("headDim", double(c.head_dim));
  o.Set("intermediateSize", double(c.intermediate_size));
  o.Set("maxPositions", double(c.max_positions));
  o.Set("tieWordEmbeddings", c.tie_word_embeddings);
  o.Set("bosTokenId", c.bos_token_id >= 0 ? Napi::Value(Napi::Number::New(env, double(c.bos_token_id))) : env.Null());
  o.Set("eosTokenId", c.eos_token_id >= 0 ? Napi::Value(Napi::Number::New(env, double(c.eos_token_id))) : env.Null());
  return o;
}

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  Napi::Function f =
      DefineClass(env, "NativeModel",
                  {InstanceMethod("info", &ModelWrap::Info), InstanceMethod("getParameter", &ModelWrap::GetParameter),
                   InstanceMethod("perturb", &ModelWrap::Perturb), InstanceMethod("update", &ModelWrap::Update),
                   InstanceMethod("addDense", &ModelWrap::AddDense), InstanceMethod("decay", &ModelWrap::Decay),
                   InstanceMethod("getTrainable", &ModelWrap::GetTrainable),
                   InstanceMethod("setTrainable", &ModelWrap::SetTrainable),
                   InstanceMethod("perExampleLoss", &ModelWrap::PerExampleLoss),
                   InstanceMethod("lossAndGradient", &ModelWrap::LossAndGradient),
                   InstanceMethod("perExampleGradNorms", &ModelWrap::PerExampleGradNorms),
                   InstanceMethod("logits", &ModelWrap::Logits), InstanceMethod("generate", &ModelWrap::Generate),
                   InstanceMethod("save", &ModelWrap::Save), InstanceMethod("weightsHash", &ModelWrap::WeightsHash),
                   InstanceMethod("memory", &ModelWrap::Memory), InstanceMethod("cancel", &ModelWrap::Cancel),
                   InstanceMethod("dispose", &ModelWrap::Dispose)});
  // one constructor per environment (the main thread and each worker thread that loads the addon): a process-wide
  // one was overwritten by the last worker to load the addon, and loadModel on the main thread then used that
  // worker's constructor, freed when the worker exited (SIGSEGV). The environment deletes it when it is torn down.
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
  return f;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  // Constructed only from Wrap(), which passes the handle through an External.
  if (info.Length() != 1 || !info[0].IsExternal())
    throw make_error(info.Env(), err::kArgument, "NativeModel cannot be constructed directly; use loadModel()");
  // take the handle out of the box so dispose() really releases the weights
  handle_ = std::move(*info[0].As<Napi::External<std::shared_ptr<ModelHandle>>>().Data());
  cancel_target_ = handle_;
}

Napi::Object ModelWrap::Wrap(Napi::Env env, std::shared_ptr<ModelHandle> handle) {
  auto* boxed = new std::shared_ptr<ModelHandle>(std::move(handle));
  auto ext = Napi::External<std::shared_ptr<ModelHandle>>::New(
      env, boxed, [](Napi::Env, std::shared_ptr<ModelHandle>* p) { delete p; });
  Napi::FunctionReference* ctor = env.GetInstanceData<Napi::FunctionReference>();
  if (ctor == nullptr) throw make_error(env, "ERR_INTERNAL", "dpzo: the NativeModel class is not defined here");
  return ctor->New({ext});
}

std::shared_ptr<ModelHandle> ModelWrap::handle(Napi::Env env) {
  if (!handle_) throw make_error(env, err::kDisposed, "the model was disposed");
  return handle_;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value { return info_of(env, *h->model); });
}

Napi::Value ModelWrap::info_of(Napi::Env env, const Model& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dir", m.dir());
  o.Set("config", config_to_js(env, m.config()));
  o.Set("dtype", dtype_name(m.dtype()));
  o.Set("threads", m.threads());
  o.Set("backend", m.backend_name());
  o.Set("numParameters", double(m.num_parameters()));
  o.Set("numTrainable", double(m.num_trainable()));
  Napi::Array ts = Napi::Array::New(env, m.tensors().size());
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    const TensorInfo& t = m.tensors()[i];
    Napi::Object to = Napi::Object::New(env);
    to.Set("name", t.name);
    to.Set("fileName", t.file_name);
    Napi::Array shape = Napi::Array::New(env, t.shape.size());
    for (size_t k = 0; k < t.shape.size(); ++k) shape.Set(k, double(t.shape[k]));
    to.Set("shape", shape);
    to.Set("numel", double(t.numel));
    to.Set("trainable", t.trainable);
    to.Set("globalOffset", double(t.global_offset));
    ts.Set(i, to);
  }
  o.Set("tensors", ts);
  return o;
}

Napi::Value ModelWrap::GetParameter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    std::string name = read_string(info[0], "name");
    // never wait on the JS thread for a running op (it may be a whole forward): say so instead
    std::unique_lock<std::mutex> lk(h->op_mutex, std::try_to_lock);
    if (!lk.owns_lock())
      throw Error(err::kBusy,
                  "getParameter('" + name + "'): a native operation is running on this model; await it first");
    return to_typed<Napi::Float32Array>(env, h->model->get_parameter(name));
  });
}

Napi::Value ModelWrap::Perturb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    uint64_t seed = read_seed(info[0], "seed");
    double scale = read_number(info[1], "scale");
    return start_void_op(env, "dpzo.perturb", Value(), h,
                         [seed, scale](Model& m) { m.perturb(seed, static_cast<float>(scale)); });
  });
}

Napi::Value ModelWrap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray()) throw Error(err::kArgument, "update(seeds, coeffs) takes two arrays");
    auto sa = info[0].As<Napi::Array>();
    auto ca = info[1].As<Napi::Array>();
    if (sa.Length() != ca.Length()) throw Error(err::kArgument, "update: seeds and coeffs differ in length");
    std::vector<uint64_t> seeds(sa.Length());
    std::vector<float> coeffs(ca.Length());
    for (uint32_t i = 0; i < sa.Length(); ++i) {
      seeds[i] = read_seed(sa.Get(i), "pairs[i].seed");
      coeffs[i] = static_cast<float>(read_number(ca.Get(i), "pairs[i].coeff"));
    }
    // update(seeds, coeffs, { decay }): θ ← decay·(θ + Σ c·z) on weight matrices in one pass
    double decay = 1.0;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      if (o.Has("decay") && !o.Get("decay").IsUndefined()) decay = read_number(o.Get("decay"), "decay");
    }
    return start_void_op(env, "dpzo.update", Value(), h, [seeds, coeffs, decay](Model& m) {
      m.update(seeds.data(), coeffs.data(), static_cast<int>(seeds.size()), static_cast<float>(decay));
    });
  });
}

Napi::Value ModelWrap::AddDense(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Error(err::kArgument, "addDense(delta) takes a Float32Array");
    auto a = info[0].As<Napi::Float32Array>();
    // copied: the array may change after the call returns, while the op is queued
    auto delta = std::make_shared<std::vector<float>>(a.Data(), a.Data() + a.ElementLength());
    double decay = 1.0;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("decay") && !o.Get("decay").IsUndefined()) decay = read_number(o.Get("decay"), "decay");
    }
    return start_void_op(env, "dpzo.addDense", Value(), h, [delta, decay](Model& m) {
      m.add_dense(delta->data(), static_cast<int64_t>(delta->size()), static_cast<float>(decay));
    });
  });
}

Napi::Value ModelWrap::GetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    return start_op<std::vector<float>>(
        env, "dpzo.getTrainable", Value(), h, [](Model& m, const CancelToken*) { return m.get_trainable(); },
        [](Napi::Env e, std::vector<float>& v) -> Napi::Value { return to_typed<Napi::Float32Array>(e, v); });
  });
}

Napi::Value ModelWrap::SetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Error(err::kArgument, "setTrainable(values) takes a Float32Array");
    auto a = info[0].As<Napi::Float32Array>();
    // copied: the array may change after the call returns, while the op is queued
    auto values = std::make_shared<std::vector<float>>(a.Data(), a.Data() + a.ElementLength());
    return start_void_op(env, "dpzo.setTrainable", Value(), h,
                         [values](Model& m) { m.set_trainable(values->data(), static_cast<int64_t>(values->size())); });
  });
}

Napi::Value ModelWrap::Decay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    double factor = read_number(info[0], "factor");
    return start_void_op(env, "dpzo.decay", Value(), h, [factor](Model& m) { m.decay(static_cast<float>(factor)); });
  });
}

Napi::Value ModelWrap::PerExampleLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "perExampleLoss(batch) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), true));
    // perExampleLoss(batch, { points: [{ seeds, coeffs }, ...] }): the losses at the virtual points θ + Σ c·z,
    // one result per point (an array); without points, one result at θ
    auto opts = std::make_shared<ForwardOptions>();
    bool with_points = false;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      opts->all_rows = o.Has("allRows") && o.Get("allRows").ToBoolean().Value();
      if (o.Has("points") && !o.Get("points").IsUndefined()) {
        if (!o.Get("points").IsArray())
          throw Error(err::kArgument, "perExampleLoss: points must be an array of { seeds: [], coeffs: [] }");
        with_points = true;
        auto pts = o.Get("points").As<Napi::Array>();
        if (pts.Length() == 0) throw Error(err::kArgument, "perExampleLoss: points is empty (omit it for θ)");
        for (uint32_t p = 0; p < pts.Length(); ++p) {
          const std::string where = "points[" + std::to_string(p) + "]";
          if (!pts.Get(p).IsObject()) throw Error(err::kArgument, "perExampleLoss: " + where + " is not an object");
          Napi::Object at = pts.Get(p).As<Napi::Object>();
          if (!at.Get("seeds").IsArray() || !at.Get("coeffs").IsArray())
            throw Error(err::kArgument, "perExampleLoss: " + where + " must be { seeds: [], coeffs: [] }");
          auto sa = at.Get("seeds").As<Napi::Array>();
          auto ca = at.Get("coeffs").As<Napi::Array>();
          if (sa.Length() != ca.Length())
            throw Error(err::kArgument, "perExampleLoss: " + where + ".seeds and .coeffs differ in length");
          VirtualPoint vp;
          for (uint32_t i = 0; i < sa.Length(); ++i) {
            vp.seeds.push_back(read_seed(sa.Get(i), (where + ".seeds[i]").c_str()));
            vp.coeffs.push_back(static_cast<float>(read_number(ca.Get(i), (where + ".coeffs[i]").c_str())));
          }
          opts->points.push_back(std::move(vp));
        }
      }
    }
    return start_op<std::vector<LossOutput>>(
        env, "dpzo.perExampleLoss", Value(), h,
        [batch, opts](Model& m, const CancelToken* c) { return m.per_example_loss(*batch, *opts, c); },
        [with_points](Napi::Env e, std::vector<LossOutput>& rs) -> Napi::Value {
          auto one = [&](LossOutput& r) {
            Napi::Object o = Napi::Object::New(e);
            o.Set("loss", to_typed<Napi::Float64Array>(e, r.loss));
            o.Set("targets", to_typed<Napi::Int32Array>(e, r.targets));
            if (!r.candidate_logits.empty())
              o.Set("candidateLogits", to_typed<Napi::Float32Array>(e, r.candidate_logits));
            return o;
          };
          if (!with_points) return one(rs.at(0));
          Napi::Array a = Napi::Array::New(e, rs.size());
          for (size_t p = 0; p < rs.size(); ++p) a.Set(static_cast<uint32_t>(p), one(rs[p]));
          return a;
        });
  });
}

Napi::Value ModelWrap::PerExampleGradNorms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "perExampleGradNorms(batch) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), true));
    // perExampleGradNorms(batch, { mode: 0 auto | 1 ghost | 2 explicit })
    auto opts = std::make_shared<GradNormOptions>();
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Value mv = info[1].As<Napi::Object>().Get("mode");
      if (!mv.IsUndefined() && !mv.IsNull()) {
        // read as a double: Int32Value() took 2^32 + 1 for 1 and 1.5 for 1
        opts->mode = static_cast<int>(read_int(mv, "perExampleGradNorms: mode (0, 1 or 2)", 0, 2));
      }
    }
    return start_op<GradNorms>(
        env, "dpzo.perExampleGradNorms", Value(), h,
        [batch, opts](Model& m, const CancelToken* c) { return m.per_example_grad_norms(*batch, *opts, c); },
        [](Napi::Env e, GradNorms& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("loss", to_typed<Napi::Float64Array>(e, r.out.loss));
          o.Set("targets", to_typed<Napi::Int32Array>(e, r.out.targets));
          o.Set("norms", to_typed<Napi::Float64Array>(e, r.norms));
          return o;
        });
  });
}

Napi::Value ModelWrap::LossAndGradient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "lossAndGradient(batch) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), true));
    // lossAndGradient(batch, { weights: Float64Array }): the gradient of Σ_s weights[s]·loss_s
    auto opts = std::make_shared<GradientOptions>();
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Value wv = info[1].As<Napi::Object>().Get("weights");
      if (!wv.IsUndefined() && !wv.IsNull()) {
        if (!wv.IsTypedArray() || wv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
          throw Error(err::kArgument, "lossAndGradient: weights must be a Float64Array");
        auto a = wv.As<Napi::Float64Array>();
        opts->weights.assign(a.Data(), a.Data() + a.ElementLength());
      }
    }
    return start_op<LossGradient>(
        env, "dpzo.lossAndGradient", Value(), h,
        [batch, opts](Model& m, const CancelToken* c) { return m.loss_and_gradient(*batch, *opts, c); },
        [](Napi::Env e, LossGradient& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("loss", to_typed<Napi::Float64Array>(e, r.out.loss));
          o.Set("targets", to_typed<Napi::Int32Array>(e, r.out.targets));
          // the gradient (one float per trainable parameter) is handed over without a copy
          if (r.grad.empty()) {
            o.Set("grad", Napi::Float32Array::New(e, 0));
            return o;
          }
          auto* keep = new std::vector<float>(std::move(r.grad));
          const size_t n = keep->size();
          auto ab = Napi::ArrayBuffer::New(
              e, keep->data(), n * sizeof(float), [](Napi::Env, void*, std::vector<float>* v) { delete v; }, keep);
          o.Set("grad", Napi::Float32Array::New(e, n, ab, 0));
          return o;
        });
  });
}

Napi::Value ModelWrap::Logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "logits(batch, positions) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), false));
    auto positions = std::make_shared<std::vector<int64_t>>(read_i32_as_i64(info[1], "positions"));
    // one row of vocab_size logits per position, returned as one Float32Array: refused before the forward when it
    // cannot be one (it was allocated whole first: 10^7 positions asked for 20 GB and the OOM killer ended the process)
    const double values = static_cast<double>(positions->size()) * static_cast<double>(h->model->config().vocab_size);
    if (values > kMaxTypedArrayLength)
      throw Error(err::kArgument, "logits: " + std::to_string(positions->size()) + " positions x vocabulary " +
                                      std::to_string(h->model->config().vocab_size) +
                                      " logits exceed the largest Float32Array (2^32 values); ask in smaller batches");
    return start_op<std::vector<float>>(
        env, "dpzo.logits", Value(), h,
        [batch, positions](Model& m, const CancelToken* c) { return m.logits(*batch, *positions, c); },
        [](Napi::Env e, std::vector<float>& r) -> Napi::Value { return to_typed<Napi::Float32Array>(e, r); });
  });
}

Napi::Value ModelWrap::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    auto prompt = std::make_shared<std::vector<int32_t>>(read_i32(info[0], "promptIds"));
    // the core counts tokens in a C int: 1e10 was cast to int (undefined behaviour)
    const int n = static_cast<int>(read_int(info[1], "maxNewTokens", 0, INT32_MAX));
    // -1: none; a value that is not a token id (1.5, 2^32 + 1, '2') was truncated, wrapped or ignored
    int32_t eos = -1;
    if (info.Length() > 2 && !info[2].IsUndefined())
      eos = static_cast<int32_t>(read_int(info[2], "eosTokenId", -1, INT32_MAX));
    return start_op<std::vector<int32_t>>(
        env, "dpzo.generate", Value(), h,
        [prompt, n, eos](Model& m, const CancelToken* c) { return m.generate(*prompt, n, eos, c); },
        [](Napi::Env e, std::vector<int32_t>& r) -> Napi::Value { return to_typed<Napi::Int32Array>(e, r); });
  });
}

Napi::Value ModelWrap::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    std::string dir = read_path(info[0], "dir");
    return start_void_op(env, "dpzo.save", Value(), h, [dir](Model& m) { m.save(dir); });
  });
}

Napi::Value ModelWrap::WeightsHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    return start_op<std::string>(
        env, "dpzo.weightsHash", Value(), h, [](Model& m, const CancelToken*) { return m.weights_hash(); },
        [](Napi::Env e, std::string& s) -> Napi::Value { return Napi::String::New(e, s); });
  });
}

Napi::Value ModelWrap::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    MemoryStats s = h->model->memory();
    Napi::Object o = Napi::Object::New(env);
    o.Set("hostBytes", double(s.host_current));
    o.Set("hostPeakBytes", double(s.host_peak));
    o.Set("deviceBytes", double(s.device_current));
    o.Set("devicePeakBytes", double(s.device_peak));
    return o;
  });
}

Napi::Value ModelWrap::Cancel(const Napi::CallbackInfo& info) {
  // through the weak pointer: after dispose() the ops still running hold the handle, and an abort must reach them
  // (through handle_, reset by dispose, it reached none and the op ran to its end)
  if (std::shared_ptr<ModelHandle> h = cancel_target_.lock()) {
    std::lock_guard<std::mutex> lk(h->tokens_mutex);
    for (auto& t : h->in_flight) t->cancelled.store(true);
  }
  return info.Env().Undefined();
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  // In-flight workers hold their own shared_ptr; the weights go when the last one ends.
  handle_.reset();
  return info.Env().Undefined();
}

}  // namespace dpzo::napi
