// defines: the addon's exports: loadModel (async), the NativeModel class, and
// the direction primitives used by tests and benches (philox, direction).
#include <napi.h>

#include "cpu/gemm.h"
#include "dpzo/errors.h"
#include "dpzo/model.h"
#include "dpzo/perturb.h"
#include "dpzo/philox.h"
#include "dpzo/stochastic_round.h"
#include "dpzo/thread_pool.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/model_wrap.h"
#include "napi/promise_worker.h"

#ifndef DPZO_BACKENDS
#define DPZO_BACKENDS "cpu"
#endif

namespace dpzo::napi {
namespace {

// loadModel(dir, { threads, dtype (-1|0|1|2), trainable: string[], device, randomInitSeed?: bigint|number })
// -> Promise<NativeModel>; randomInitSeed present: a model from config.json alone (dpzo/random_init.h)
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    std::string dir = read_path(info[0], "dir");
    LoadOptions opts;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("threads") && !o.Get("threads").IsUndefined())
        opts.threads = static_cast<int>(read_int(o.Get("threads"), "threads", 0, kMaxThreads));
      if (o.Has("dtype") && !o.Get("dtype").IsUndefined())
        opts.dtype = static_cast<int>(read_int(o.Get("dtype"), "dtype", -1, 2));
      if (o.Has("device") && !o.Get("device").IsUndefined())
        opts.backend = &select_backend(read_string(o.Get("device"), "device"), &opts.device_index);
      if (o.Has("randomInitSeed") && !o.Get("randomInitSeed").IsUndefined()) {
        opts.random_init = true;
        opts.seed = read_seed(o.Get("randomInitSeed"), "randomInit.seed");
      }
      if (o.Has("trainable") && !o.Get("trainable").IsUndefined()) {
        // anything but a list was ignored, and an empty selection natively means every tensor: 'q_proj' trained all
        if (!o.Get("trainable").IsArray()) throw Error(err::kArgument, "trainable must be an array of strings");
        Napi::Array a = o.Get("trainable").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) opts.trainable.push_back(read_string(a.Get(i), "trainable[i]"));
      }
    }
    return PromiseWorker<std::shared_ptr<ModelHandle>>::Start(
        env, "dpzo.loadModel",
        [dir, opts]() {
          auto h = std::make_shared<ModelHandle>();
          h->model = Model::load(dir, opts);
          return h;
        },
        [](Napi::Env e, std::shared_ptr<ModelHandle>& h) -> Napi::Value { return ModelWrap::Wrap(e, h); });
  });
}

// philox(counter: Uint32Array(4), key: Uint32Array(2)) -> Uint32Array(4)
Napi::Value Philox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto ok = [](const Napi::Value& v, size_t n) {
      return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array &&
             v.As<Napi::TypedArray>().ElementLength() == n;
    };
    if (!ok(info[0], 4) || !ok(info[1], 2))
      throw Error(err::kArgument, "philox(counter, key) takes a Uint32Array(4) and a Uint32Array(2)");
    auto c = info[0].As<Napi::Uint32Array>();
    auto k = info[1].As<Napi::Uint32Array>();
    uint32_t ctr[4] = {c[0], c[1], c[2], c[3]}, key[2] = {k[0], k[1]}, out[4];
    philox4x32_10(ctr, key, out);
    auto r = Napi::Uint32Array::New(env, 4);
    for (int i = 0; i < 4; ++i) r[i] = out[i];
    return r;
  });
}

// direction(seed, g0, count) -> Float32Array: z(seed, g0 + i)
Napi::Value Direction(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    uint64_t seed = read_seed(info[0], "seed");
    uint64_t g0 = read_index(info[1], "g0");
    // an integer: 1.5 was truncated to 1
    const int64_t n = read_int(info[2], "count", 0, 1000000000);
    auto r = Napi::Float32Array::New(env, static_cast<size_t>(n));
    fill_direction(seed, g0, n, r.Data());
    return r;
  });
}

// roundStochastic(values: Float32Array, words: Uint32Array, dtype: 'bf16' | 'f16') -> Float32Array: each value
// rounded to the dtype with its rounding word (dpzo/stochastic_round.h), widened back (tests only)
Napi::Value RoundStochastic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        !info[2].IsString())
      throw Error(err::kArgument,
                  "roundStochastic(values, words, dtype) takes a Float32Array, a Uint32Array, 'bf16'|'f16'");
    auto v = info[0].As<Napi::Float32Array>();
    auto w = info[1].As<Napi::Uint32Array>();
    const std::string dt = info[2].As<Napi::String>().Utf8Value();
    if (v.ElementLength() != w.ElementLength()) throw Error(err::kArgument, "roundStochastic: one word per value");
    if (dt != "bf16" && dt != "f16") throw Error(err::kArgument, "roundStochastic: dtype must be 'bf16' or 'f16'");
    auto r = Napi::Float32Array::New(env, v.ElementLength());
    for (size_t i = 0; i < v.ElementLength(); ++i)
      r[i] = dt == "bf16" ? bf16_to_f32(f32_to_bf16_sr(v[i], w[i])) : f16_to_f32(f32_to_f16_sr(v[i], w[i]));
    return r;
  });
}

// gemmBench(m, n, k, threads, iters) -> best GFLOP/s of the core's F32 GEMM (bench only; runs on the JS thread)
Napi::Value GemmBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto dim = [&](int i, const char* what) {
      double d = read_number(info[i], what);
      if (d < 1 || d > 65536 || d != static_cast<int64_t>(d))
        throw Error(err::kArgument, std::string(what) + " must be an integer in [1, 65536]");
      return static_cast<int64_t>(d);
    };
    int64_t m = dim(0, "m"), n = dim(1, "n"), k = dim(2, "k");
    int threads = static_cast<int>(dim(3, "threads"));
    int iters = info.Length() > 4 ? static_cast<int>(dim(4, "iters")) : 5;
    return Napi::Number::New(env, cpu::gemm_bench(m, n, k, threads, iters));
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("loadModel", Napi::Function::New(env, LoadModel, "loadModel"));
  exports.Set("philox", Napi::Function::New(env, Philox, "philox"));
  exports.Set("direction", Napi::Function::New(env, Direction, "direction"));
  exports.Set("roundStochastic", Napi::Function::New(env, RoundStochastic, "roundStochastic"));
  exports.Set("directionIsa", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
                // active_isa() throws on a bad DPZO_ISA override
                return guard(i.Env(), [&]() -> Napi::Value { return Napi::String::New(i.Env(), direction_isa()); });
              }));
  exports.Set("gemmBench", Napi::Function::New(env, GemmBench, "gemmBench"));
  exports.Set("backends", Napi::String::New(env, DPZO_BACKENDS));
  // the CPUs threads 0 runs on (affinity mask, cgroup quota): dpzo env reports the pool's own count
  exports.Set("usableCpus", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
                return Napi::Number::New(i.Env(), usable_cpus());
              }));
  // asked on demand: the first CUDA runtime call costs time on a GPU machine
  exports.Set("cudaDevices", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
                return Napi::Number::New(i.Env(), usable_cuda_devices());
              }));
  // [{ index, name, totalBytes }] of the CUDA devices this process sees (dpzo info)
  exports.Set("cudaDeviceList", Napi::Function::New(env, [](const Napi::CallbackInfo& i) -> Napi::Value {
                const std::vector<DeviceInfo> ds = cuda_devices();
                Napi::Array a = Napi::Array::New(i.Env(), ds.size());
                for (size_t k = 0; k < ds.size(); ++k) {
                  Napi::Object o = Napi::Object::New(i.Env());
                  o.Set("index", static_cast<double>(k));
                  o.Set("name", ds[k].name);
                  o.Set("totalBytes", static_cast<double>(ds[k].total_bytes));
                  a.Set(static_cast<uint32_t>(k), o);
                }
                return a;
              }));
  return exports;
}

}  // namespace dpzo::napi

// the module macro pastes tokens, so it needs an unqualified name
static Napi::Object InitDpzo(Napi::Env env, Napi::Object exports) { return dpzo::napi::Init(env, exports); }
NODE_API_MODULE(dpzo, InitDpzo)
