// defines: argument readers of the binding (seeds, typed arrays, options),
// each throwing a coded JS Error that names the argument.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dpzo::napi {

// A seed: a BigInt in [0, 2^64) or a Number that is a non-negative safe integer.
uint64_t read_seed(const Napi::Value& v, const char* what);
// A non-negative integer index (Number or BigInt).
uint64_t read_index(const Napi::Value& v, const char* what);
// An integer Number in [min, max] (never wrapped to 32 bits).
int64_t read_int(const Napi::Value& v, const char* what, int64_t min, int64_t max);
double read_number(const Napi::Value& v, const char* what);
std::string read_string(const Napi::Value& v, const char* what);
// A file-system path: a non-empty string without a NUL (the C library would read it only up to the NUL).
std::string read_path(const Napi::Value& v, const char* what);
// An Int32Array (copied).
std::vector<int32_t> read_i32(const Napi::Value& v, const char* what);
std::vector<int64_t> read_i32_as_i64(const Napi::Value& v, const char* what);

}  // namespace dpzo::napi
