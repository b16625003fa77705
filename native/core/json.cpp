// defines: json::parse, json::write (see core/json.h).
#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "dpzo/errors.h"

namespace dpzo::json {

namespace {

constexpr int kMaxDepth = 256;

// Internal only: converted to dpzo::Error by parse().
struct ParseFailure {
  size_t offset;
  std::string reason;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected content after the value");
    return v;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& reason) { throw ParseFailure{pos_, reason}; }
  [[noreturn]] void fail_at(size_t at, const std::string& reason) { throw ParseFailure{at, reason}; }

  bool eof() const { return pos_ >= s_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(s_[pos_]); }

  void skip_ws() {
    while (!eof()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        ++pos_;
      else
        break;
    }
  }

  void expect_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) fail("invalid literal");
    pos_ += lit.size();
  }

  Value value(int depth) {
    if (eof()) fail("unexpected end of input");
    Value v;
    v.offset = pos_;
    switch (s_[pos_]) {
      case '{':
        object(v, depth);
        break;
      case '[':
        array(v, depth);
        break;
      case '"':
        v.type = Type::String;
        v.string = string();
        break;
      case 't':
        expect_literal("true");
        v.type = Type::Bool;
        v.boolean = true;
        break;
      case 'f':
        expect_literal("false");
        v.type = Type::Bool;
        v.boolean = false;
        break;
      case 'n':
        expect_literal("null");
        v.type = Type::Null;
        break;
      default:
        if (s_[pos_] == '-' || (s_[pos_] >= '0' && s_[pos_] <= '9'))
          number(v);
        else
          fail(std::string("unexpected character '") + printable(s_[pos_]) + "'");
    }
    return v;
  }

  static std::string printable(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  void object(Value& v, int depth) {
    if (depth >= kMaxDepth) fail("nesting deeper than 256 levels");
    v.type = Type::Object;
    ++pos_;  // '{'
    skip_ws();
    if (!eof() && s_[pos_] == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      if (eof() || s_[pos_] != '"') fail("expected a string key");
      std::string key = string();
      skip_ws();
      if (eof() || s_[pos_] != ':') fail("expected ':' after an object key");
      ++pos_;
      skip_ws();
      Value member = value(depth + 1);
      v.object.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (eof()) fail("unexpected end of input in an object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return;
      }
      fail("expected ',' or '}' in an object");
    }
  }

  void array(Value& v, int depth) {
    if (depth >= kMaxDepth) fail("nesting deeper than 256 levels");
    v.type = Type::Array;
    ++pos_;  // '['
    skip_ws();
    if (!eof() && s_[pos_] == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      v.array.push_back(value(depth + 1));
      skip_ws();
      if (eof()) fail("unexpected end of input in an array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return;
      }
      fail("expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      u <<= 4;
      if (c >= '0' && c <= '9')
        u |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        u |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        u |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("invalid hex digit in a \\u escape");
    }
    pos_ += 4;
    return u;
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Validates one raw UTF-8 sequence starting at pos_ (RFC 3629: no overlongs,
  // no surrogates, at most U+10FFFF) and copies it.
  void utf8_sequence(std::string& out) {
    size_t start = pos_;
    unsigned char b0 = peek();
    int len;
    uint32_t cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07;
      min = 0x10000;
    } else
      fail("invalid UTF-8 byte");
    if (pos_ + len > s_.size()) fail("truncated UTF-8 sequence");
    for (int i = 1; i < len; ++i) {
      unsigned char b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) fail_at(pos_ + i, "invalid UTF-8 continuation byte");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8 sequence");
    out.append(s_.data() + start, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (eof()) fail("unterminated string");
      unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("raw control character in a string");
      if (c >= 0x80) {
        utf8_sequence(out);
        continue;
      }
      if (c != '\\') {
        // copy a run of plain ASCII at once
        size_t run = pos_;
        while (run < s_.size()) {
          unsigned char d = static_cast<unsigned char>(s_[run]);
          if (d == '"' || d == '\\' || d < 0x20 || d >= 0x80) break;
          ++run;
        }
        out.append(s_.data() + pos_, run - pos_);
        pos_ = run;
        continue;
      }
      size_t esc_at = pos_;
      ++pos_;
      if (eof()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at(esc_at, "unpaired low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail_at(esc_at, "unpaired high surrogate");
            pos_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail_at(esc_at, "high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          fail_at(esc_at, "invalid escape sequence");
      }
    }
  }

  // Decimal exponent of the first significant digit (1 for "1.5", -2 for "0.001"),
  // enough to tell overflow from underflow when from_chars reports out of range.
  static int64_t decimal_exponent(const char* b, const char* e) {
    int64_t int_digits = 0, k = 0, first = -1, exp = 0;
    bool frac = false;
    const char* p = b;
    for (; p < e && *p != 'e' && *p != 'E'; ++p) {
      if (*p == '.') {
        frac = true;
        continue;
      }
      if (*p < '0' || *p > '9') continue;
      if (!frac) ++int_digits;
      if (*p != '0' && first < 0) first = k;
      ++k;
    }
    if (first < 0) return INT64_MIN;  // all zeros
    if (p < e) {
      ++p;
      bool neg = *p == '-';
      if (*p == '+' || *p == '-') ++p;
      for (; p < e; ++p) exp = exp > 100000000 ? exp : exp * 10 + (*p - '0');
      if (neg) exp = -exp;
    }
    return int_digits - first + exp;
  }

  void number(Value& v) {
    size_t start = pos_;
    bool integral_syntax = true;
    if (s_[pos_] == '-') ++pos_;
    if (eof()) fail("truncated number");
    if (s_[pos_] == '0') {
      ++pos_;
      if (!eof() && s_[pos_] >= '0' && s_[pos_] <= '9') fail_at(start, "leading zero in a number");
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (!eof() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    } else {
      fail("invalid number");
    }
    if (!eof() && s_[pos_] == '.') {
      integral_syntax = false;
      ++pos_;
      if (eof() || s_[pos_] < '0' || s_[pos_] > '9') fail("expected a digit after '.'");
      while (!eof() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (!eof() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral_syntax = false;
      ++pos_;
      if (!eof() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (eof() || s_[pos_] < '0' || s_[pos_] > '9') fail("expected a digit in the exponent");
      while (!eof() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    v.type = Type::Number;
    if (integral_syntax) {
      int64_t i = 0;
      auto r = std::from_chars(b, e, i);
      if (r.ec == std::errc() && r.ptr == e) {
        v.is_integer = true;
        v.integer = i;
        v.number = static_cast<double>(i);
        return;
      }
    }
    double d = 0.0;
    auto r = std::from_chars(b, e, d);
    if (r.ec == std::errc::result_out_of_range) {
      // underflow to zero is harmless; overflow to infinity is not representable
      if (decimal_exponent(b, e) > 0) fail_at(start, "number out of the double range");
      d = 0.0;
    } else if (r.ec != std::errc() || r.ptr != e) {
      fail_at(start, "invalid number");
    }
    v.number = d;
    // 2^63 is exactly representable; the int64 range is [-2^63, 2^63)
    if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      v.is_integer = true;
      v.integer = static_cast<int64_t>(d);
    }
  }
};

void write_value(std::string& out, const Value& v) {
  switch (v.type) {
    case Type::Null:
      out += "null";
      break;
    case Type::Bool:
      out += v.boolean ? "true" : "false";
      break;
    case Type::Number: {
      char buf[64];
      std::to_chars_result r;
      if (v.is_integer) {
        r = std::to_chars(buf, buf + sizeof buf, v.integer);
      } else {
        if (!std::isfinite(v.number)) throw Error(err::kArgument, "JSON cannot represent a non-finite number");
        r = std::to_chars(buf, buf + sizeof buf, v.number);
      }
      out.append(buf, r.ptr);
      break;
    }
    case Type::String:
      write_string(out, v.string);
      break;
    case Type::Array:
      out.push_back('[');
      for (size_t i = 0; i < v.array.size(); ++i) {
        if (i) out.push_back(',');
        write_value(out, v.array[i]);
      }
      out.push_back(']');
      break;
    case Type::Object:
      out.push_back('{');
      for (size_t i = 0; i < v.object.size(); ++i) {
        if (i) out.push_back(',');
        write_string(out, v.object[i].first);
        out.push_back(':');
        write_value(out, v.object[i].second);
      }
      out.push_back('}');
      break;
  }
}

}  // namespace

const Value* Value::get(std::string_view key) const {
  if (type != Type::Object) return nullptr;
  for (auto it = object.rbegin(); it != object.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

Value parse(std::string_view text, const char* code, const std::string& where) {
  try {
    return Parser(text).document();
  } catch (const ParseFailure& f) {
    throw Error(code, where + ": invalid JSON at byte " + std::to_string(f.offset) + ": " + f.reason);
  }
}

void write_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string write(const Value& v) {
  std::string out;
  write_value(out, v);
  return out;
}

Value make_string(std::string s) {
  Value v;
  v.type = Type::String;
  v.string = std::move(s);
  return v;
}

Value make_int(int64_t i) {
  Value v;
  v.type = Type::Number;
  v.is_integer = true;
  v.integer = i;
  v.number = static_cast<double>(i);
  return v;
}

Value make_array(std::vector<Value> items) {
  Value v;
  v.type = Type::Array;
  v.array = std::move(items);
  return v;
}

Value make_object(std::vector<std::pair<std::string, Value>> members) {
  Value v;
  v.type = Type::Object;
  v.object = std::move(members);
  return v;
}

}  // namespace dpzo::json
