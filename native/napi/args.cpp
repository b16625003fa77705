// defines: argument readers (see args.h).
#include "napi/args.h"

#include <cmath>

#include "dpzo/errors.h"

namespace dpzo::napi {

uint64_t read_seed(const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    int sign = 0;
    size_t words = 2;
    uint64_t w[2] = {0, 0};
    v.As<Napi::BigInt>().ToWords(&sign, &words, w);
    if (sign != 0 && (w[0] != 0 || words > 1))
      throw Error(err::kSeed, std::string(what) + " must be a non-negative integer below 2^64 (got a negative bigint)");
    // ToWords reports the words the value needs even when it fills only the first two: any
    // second word means >= 2^64 (2^128 would otherwise read as w = {0, 0}, i.e. seed 0)
    if (words > 1) throw Error(err::kSeed, std::string(what) + " must be below 2^64");
    return w[0];
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d != std::floor(d))
      throw Error(err::kSeed, std::string(what) + " must be an integer (got " + std::to_string(d) + ")");
    if (d < 0) throw Error(err::kSeed, std::string(what) + " must be non-negative (got " + std::to_string(d) + ")");
    if (d > 9007199254740991.0)
      throw Error(err::kSeed, std::string(what) + " is above Number.MAX_SAFE_INTEGER: pass a bigint");
    return static_cast<uint64_t>(d);
  }
  throw Error(err::kSeed, std::string(what) + " must be a bigint or a non-negative safe integer");
}

uint64_t read_index(const Napi::Value& v, const char* what) {
  try {
    return read_seed(v, what);
  } catch (const Error& e) {
    throw Error(err::kArgument, e.what());
  }
}

int64_t read_int(const Napi::Value& v, const char* what, int64_t min, int64_t max) {
  if (!v.IsNumber()) throw Error(err::kArgument, std::string(what) + " must be an integer");
  // read as a double: Int32Value() would wrap 2^32 + 1 to 1
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) throw Error(err::kArgument, std::string(what) + " must be an integer");
  if (d < static_cast<double>(min) || d > static_cast<double>(max))
    throw Error(err::kArgument,
                std::string(what) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int64_t>(d);
}

double read_number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Error(err::kArgument, std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw Error(err::kArgument, std::string(what) + " must be finite");
  return d;
}

std::string read_string(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Error(err::kArgument, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string read_path(const Napi::Value& v, const char* what) {
  std::string s = read_string(v, what);
  // "out\0x" was written as "out" (and "model\0x" loaded "model"): refused, as Node's fs refuses it
  if (s.find('\0') != std::string::npos)
    throw Error(err::kArgument, std::string(what) + " must not contain a NUL character");
  return s;
}

std::vector<int32_t> read_i32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Error(err::kArgument, std::string(what) + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<int64_t> read_i32_as_i64(const Napi::Value& v, const char* what) {
  auto a = read_i32(v, what);
  return std::vector<int64_t>(a.begin(), a.end());
}

}  // namespace dpzo::napi
