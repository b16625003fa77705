// defines: json::Value, json::parse (a strict RFC 8259 parser whose errors give
// the byte offset) and json::write / json::write_string (a compact writer, used
// for safetensors headers). Just enough JSON for config.json, index files and
// safetensors headers; no dependencies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dpzo::json {

enum class Type { Null, Bool, Number, String, Array, Object };

struct Value {
  Type type = Type::Null;
  bool boolean = false;
  double number = 0.0;
  bool is_integer = false;  // integral and exactly representable as int64 (then `integer` holds it)
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // document order; duplicate keys are kept
  size_t offset = 0;                                  // byte offset of the value in the text

  bool is_null() const { return type == Type::Null; }
  bool is_object() const { return type == Type::Object; }
  bool is_array() const { return type == Type::Array; }
  bool is_string() const { return type == Type::String; }
  bool is_number() const { return type == Type::Number; }
  bool is_bool() const { return type == Type::Bool; }
  // Member lookup (objects only): the last occurrence, as Python's json does; nullptr if absent.
  const Value* get(std::string_view key) const;
};

// Parses one JSON document (UTF-8; surrounding whitespace allowed). Strict:
// no comments, trailing commas, NaN/Infinity, leading zeros, raw control
// characters, invalid UTF-8 or unpaired surrogates; nesting limited to 256.
// On failure throws dpzo::Error(code, where + ": invalid JSON at byte N: reason").
Value parse(std::string_view text, const char* code, const std::string& where);

// Appends `s` as a JSON string literal (quotes, escapes; UTF-8 passed through).
void write_string(std::string& out, std::string_view s);
// Compact serialisation; integers exactly, other numbers shortest round-trip.
// Non-finite numbers throw dpzo::Error(ERR_ARGUMENT).
std::string write(const Value& v);

// Builders for writing.
Value make_string(std::string s);
Value make_int(int64_t i);
Value make_array(std::vector<Value> items);
Value make_object(std::vector<std::pair<std::string, Value>> members);

}  // namespace dpzo::json
