#include "bazaar/persistence/pg_binary_array.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace bazaar::persistence {

namespace {

constexpr std::size_t header_size = 20; // ndim, flags, element type, length, lower bound

/// Hex digit values, -1 for other bytes.
struct hex_table {
  signed char of[256];
  constexpr hex_table() : of() {
    for (int c = 0; c < 256; ++c)
      of[c] = c >= '0' && c <= '9'   ? static_cast<signed char>(c - '0')
              : c >= 'a' && c <= 'f' ? static_cast<signed char>(c - 'a' + 10)
              : c >= 'A' && c <= 'F' ? static_cast<signed char>(c - 'A' + 10)
                                     : static_cast<signed char>(-1);
  }
};

constexpr hex_table hex_digits{};

int hex_value(char c) {
  return hex_digits.of[static_cast<unsigned char>(c)];
}

void store32(char* p, std::uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

} // namespace

pg_binary_array::pg_binary_array(element_type type) : type_(type) {
  clear();
}

void pg_binary_array::clear() {
  bytes_.assign(header_size, '\0');
  count_ = 0;
}

void pg_binary_array::put32(std::uint32_t v) {
  char b[4];
  store32(b, v);
  bytes_.append(b, 4);
}

void pg_binary_array::put_length(std::size_t n) {
  // PostgreSQL's limit for one value is 1 GB; a length must fit the format's int32.
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw std::length_error("array element of " + std::to_string(n) + " bytes is too long");
  put32(static_cast<std::uint32_t>(n));
}

void pg_binary_array::add_text(std::string_view s) {
  put_length(s.size());
  bytes_.append(s.data(), s.size());
  ++count_;
}

void pg_binary_array::add_jsonb(std::string_view json_text) {
  put_length(json_text.size() + 1);
  bytes_ += '\1'; // jsonb's binary format version
  bytes_.append(json_text.data(), json_text.size());
  ++count_;
}

void pg_binary_array::add_int8(std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  char b[12];
  store32(b, 8);
  store32(b + 4, static_cast<std::uint32_t>(u >> 32));
  store32(b + 8, static_cast<std::uint32_t>(u));
  bytes_.append(b, sizeof b);
  ++count_;
}

void pg_binary_array::add_int4(std::int32_t v) {
  char b[8];
  store32(b, 4);
  store32(b + 4, static_cast<std::uint32_t>(v));
  bytes_.append(b, sizeof b);
  ++count_;
}

void pg_binary_array::add_uuid(std::string_view text) {
  auto bad = [&] { return std::invalid_argument("not a UUID: " + std::string(text)); };
  std::string_view s = text;
  if (!s.empty() && s.front() == '{') {
    if (s.size() < 2 || s.back() != '}')
      throw bad();
    s = s.substr(1, s.size() - 2);
  }
  char out[20];
  store32(out, 16); // the element's length, then its 16 bytes
  int digits = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    // A hyphen may follow any group of four digits, but neither start nor end the text.
    if (c == '-' && digits > 0 && digits % 4 == 0 && digits < 32 && i + 1 < s.size() &&
        s[i + 1] != '-')
      continue;
    int v = hex_value(c);
    if (v < 0 || digits == 32)
      throw bad();
    if (digits % 2 == 0)
      out[4 + digits / 2] = static_cast<char>(v << 4);
    else
      out[4 + digits / 2] = static_cast<char>(out[4 + digits / 2] | v);
    ++digits;
  }
  if (digits != 32)
    throw bad();
  bytes_.append(out, sizeof out);
  ++count_;
}

pqxx::binarystring pg_binary_array::param() {
  char* h = &bytes_[0];
  auto put = [&h](std::uint32_t v) {
    store32(h, v);
    h += 4;
  };
  if (count_ == 0) {
    // An empty array has no dimensions: ndim 0, flags 0, element type.
    put(0);
    put(0);
    put(type_);
    return pqxx::binarystring(bytes_.data(), 12);
  }
  put(1);      // dimensions
  put(0);      // flags: no NULL elements
  put(type_);  // element type
  put(count_); // length of the dimension
  put(1);      // lower bound
  return pqxx::binarystring(bytes_.data(), bytes_.size());
}

} // namespace bazaar::persistence
