// defines: ModelWrap methods (see model_wrap.h).
#include "napi/model_wrap.h"

#include <cmath>

#include "dpzo/errors.h"
#include "dpzo/forward.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/promise_worker.h"

namespace dpzo::napi {

namespace {

Napi::FunctionReference* g_ctor = nullptr;  // one per process: the addon is context-unaware-safe for our use

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
  Napi::Function f = DefineClass(
      env, "NativeModel",
      {InstanceMethod("info", &ModelWrap::Info), InstanceMethod("getParameter", &ModelWrap::GetParameter),
       InstanceMethod("perturb", &ModelWrap::Perturb), InstanceMethod("update", &ModelWrap::Update),
       InstanceMethod("decay", &ModelWrap::Decay),
       InstanceMethod("perExampleLoss", &ModelWrap::PerExampleLoss), InstanceMethod("logits", &ModelWrap::Logits),
       InstanceMethod("generate", &ModelWrap::Generate), InstanceMethod("save", &ModelWrap::Save),
       InstanceMethod("weightsHash", &ModelWrap::WeightsHash), InstanceMethod("memory", &ModelWrap::Memory),
       InstanceMethod("cancel", &ModelWrap::Cancel), InstanceMethod("dispose", &ModelWrap::Dispose)});
  g_ctor = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  // Constructed only from Wrap(), which passes the handle through an External.
  if (info.Length() != 1 || !info[0].IsExternal())
    throw make_error(info.Env(), err::kArgument, "NativeModel cannot be constructed directly; use loadModel()");
  // take the handle out of the box so dispose() really releases the weights
  handle_ = std::move(*info[0].As<Napi::External<std::shared_ptr<ModelHandle>>>().Data());
}

Napi::Object ModelWrap::Wrap(Napi::Env env, std::shared_ptr<ModelHandle> handle) {
  auto* boxed = new std::shared_ptr<ModelHandle>(std::move(handle));
  auto ext = Napi::External<std::shared_ptr<ModelHandle>>::New(
      env, boxed, [](Napi::Env, std::shared_ptr<ModelHandle>* p) { delete p; });
  return g_ctor->New({ext});
}

std::shared_ptr<ModelHandle> ModelWrap::handle(Napi::Env env) {
  if (!handle_) throw make_error(env, err::kDisposed, "the model was disposed");
  return handle_;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  const Model& m = *h->model;
  Napi::Object o = Napi::Object::New(env);
  o.Set("dir", m.dir());
  o.Set("config", config_to_js(env, m.config()));
  o.Set("dtype", dtype_name(m.dtype()));
  o.Set("threads", m.threads());
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
      throw Error(err::kBusy, "getParameter('" + name + "'): a native operation is running on this model; await it first");
    std::vector<float> v = h->model->get_parameter(name);
    auto arr = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), arr.Data());
    return arr;
  });
}

Napi::Value ModelWrap::Perturb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    uint64_t seed = read_seed(info[0], "seed");
    double scale = read_number(info[1], "scale");
    auto token = new_token(*h);
    return PromiseWorker<Nothing>::Start(
        env, "dpzo.perturb",
        [h, token, seed, scale]() {
          OpScope op(h, token);
          h->model->perturb(seed, static_cast<float>(scale));
          return Nothing{};
        },
        [](Napi::Env e, Nothing&) { return e.Undefined(); }, Value());
  });
}

Napi::Value ModelWrap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray())
      throw Error(err::kArgument, "update(seeds, coeffs) takes two arrays");
    auto sa = info[0].As<Napi::Array>();
    auto ca = info[1].As<Napi::Array>();
    if (sa.Length() != ca.Length()) throw Error(err::kArgument, "update: seeds and coeffs differ in length");
    std::vector<uint64_t> seeds(sa.Length());
    std::vector<float> coeffs(ca.Length());
    for (uint32_t i = 0; i < sa.Length(); ++i) {
      seeds[i] = read_seed(sa.Get(i), "pairs[i].seed");
      coeffs[i] = static_cast<float>(read_number(ca.Get(i), "pairs[i].coeff"));
    }
    auto token = new_token(*h);
    return PromiseWorker<Nothing>::Start(
        env, "dpzo.update",
        [h, token, seeds, coeffs]() {
          OpScope op(h, token);
          if (!seeds.empty()) h->model->update(seeds.data(), coeffs.data(), static_cast<int>(seeds.size()));
          return Nothing{};
        },
        [](Napi::Env e, Nothing&) { return e.Undefined(); }, Value());
  });
}

Napi::Value ModelWrap::Decay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    double factor = read_number(info[0], "factor");
    auto token = new_token(*h);
    return PromiseWorker<Nothing>::Start(
        env, "dpzo.decay",
        [h, token, factor]() {
          OpScope op(h, token);
          h->model->decay(static_cast<float>(factor));
          return Nothing{};
        },
        [](Napi::Env e, Nothing&) { return e.Undefined(); }, Value());
  });
}

Napi::Value ModelWrap::PerExampleLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "perExampleLoss(batch) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), true));
    auto token = new_token(*h);
    return PromiseWorker<LossOutput>::Start(
        env, "dpzo.perExampleLoss",
        [h, token, batch]() {
          OpScope op(h, token);
          return per_example_loss(*h->model, *batch, token.get());
        },
        [](Napi::Env e, LossOutput& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          auto loss = Napi::Float64Array::New(e, r.loss.size());
          std::copy(r.loss.begin(), r.loss.end(), loss.Data());
          auto tg = Napi::Int32Array::New(e, r.targets.size());
          std::copy(r.targets.begin(), r.targets.end(), tg.Data());
          o.Set("loss", loss);
          o.Set("targets", tg);
          if (!r.candidate_logits.empty()) {
            auto cl = Napi::Float32Array::New(e, r.candidate_logits.size());
            std::copy(r.candidate_logits.begin(), r.candidate_logits.end(), cl.Data());
            o.Set("candidateLogits", cl);
          }
          return o;
        },
        Value());
  });
}

Napi::Value ModelWrap::Logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(err::kArgument, "logits(batch, positions) takes an object");
    auto batch = std::make_shared<PackedBatch>(read_batch(info[0].As<Napi::Object>(), false));
    auto positions = std::make_shared<std::vector<int64_t>>(read_i32_as_i64(info[1], "positions"));
    auto token = new_token(*h);
    return PromiseWorker<std::vector<float>>::Start(
        env, "dpzo.logits",
        [h, token, batch, positions]() {
          OpScope op(h, token);
          return logits_at(*h->model, *batch, *positions, token.get());
        },
        [](Napi::Env e, std::vector<float>& r) -> Napi::Value {
          auto a = Napi::Float32Array::New(e, r.size());
          std::copy(r.begin(), r.end(), a.Data());
          return a;
        },
        Value());
  });
}

Napi::Value ModelWrap::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    auto prompt = std::make_shared<std::vector<int32_t>>(read_i32(info[0], "promptIds"));
    double n = read_number(info[1], "maxNewTokens");
    if (n < 0 || n != std::floor(n)) throw Error(err::kArgument, "maxNewTokens must be a non-negative integer");
    int32_t eos = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
    auto token = new_token(*h);
    return PromiseWorker<std::vector<int32_t>>::Start(
        env, "dpzo.generate",
        [h, token, prompt, n, eos]() {
          OpScope op(h, token);
          return generate_greedy(*h->model, *prompt, static_cast<int>(n), eos, token.get());
        },
        [](Napi::Env e, std::vector<int32_t>& r) -> Napi::Value {
          auto a = Napi::Int32Array::New(e, r.size());
          std::copy(r.begin(), r.end(), a.Data());
          return a;
        },
        Value());
  });
}

Napi::Value ModelWrap::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  return guard(env, [&]() -> Napi::Value {
    std::string dir = read_string(info[0], "dir");
    auto token = new_token(*h);
    return PromiseWorker<Nothing>::Start(
        env, "dpzo.save",
        [h, token, dir]() {
          OpScope op(h, token);
          h->model->save(dir);
          return Nothing{};
        },
        [](Napi::Env e, Nothing&) { return e.Undefined(); }, Value());
  });
}

Napi::Value ModelWrap::WeightsHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  auto token = new_token(*h);
  return PromiseWorker<std::string>::Start(
      env, "dpzo.weightsHash",
      [h, token]() {
        OpScope op(h, token);
        return h->model->weights_hash();
      },
      [](Napi::Env e, std::string& s) -> Napi::Value { return Napi::String::New(e, s); }, Value());
}

Napi::Value ModelWrap::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = handle(env);
  MemoryStats s = h->model->memory();
  Napi::Object o = Napi::Object::New(env);
  o.Set("hostBytes", double(s.host_current));
  o.Set("hostPeakBytes", double(s.host_peak));
  o.Set("deviceBytes", double(s.device_current));
  o.Set("devicePeakBytes", double(s.device_peak));
  return o;
}

Napi::Value ModelWrap::Cancel(const Napi::CallbackInfo& info) {
  if (handle_) {
    std::lock_guard<std::mutex> lk(handle_->tokens_mutex);
    for (auto& t : handle_->in_flight) t->cancelled.store(true);
  }
  return info.Env().Undefined();
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  // In-flight workers hold their own shared_ptr; the weights go when the last one ends.
  handle_.reset();
  return info.Env().Undefined();
}

}  // namespace dpzo::napi
