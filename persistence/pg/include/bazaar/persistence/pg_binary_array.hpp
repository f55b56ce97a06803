#pragma once

/// One-dimensional PostgreSQL arrays as statement parameters in binary form (the format of
/// array_send/array_recv): a header, then each element as its length and its bytes. Elements
/// go in as they are: no quoting or escaping here, no array-literal parsing on the server,
/// and no character that could break the encoding (a text element may hold quotes,
/// backslashes, braces, commas, anything). The server still checks each element as its type's
/// binary input does: text is validated as UTF-8 (a NUL byte is refused), jsonb and json are
/// parsed.
///
///     pg_binary_array keys{pg_binary_array::text};
///     keys.add_text("a\"b");
///     tx.exec_prepared("stmt", keys.param());   // stmt declares $1::text[]
///
/// The parameter's declared type must be an array of exactly the element type given here.

#include <pqxx/binarystring>

#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::persistence {

class pg_binary_array {
 public:
  /// Element type oids (pg_type.dat).
  enum element_type : std::uint32_t {
    bytea = 17,
    int8 = 20,
    int4 = 23,
    text = 25,
    json = 114,
    uuid = 2950,
    jsonb = 3802,
  };

  explicit pg_binary_array(element_type type);

  /// Empties the array, keeping its buffer.
  void clear();
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  /// An element of a text, json or bytea array: the bytes as they are.
  void add_text(std::string_view s);
  /// An element of a jsonb array: JSON text.
  void add_jsonb(std::string_view json_text);
  void add_int8(std::int64_t v);
  void add_int4(std::int32_t v);
  /// An element of a uuid array from its text form (32 hex digits, optionally grouped by
  /// hyphens and braced, as PostgreSQL reads it); throws std::invalid_argument otherwise.
  void add_uuid(std::string_view text);

  /// The array as a binary statement parameter.
  pqxx::binarystring param();

 private:
  void put_length(std::size_t n);
  void put32(std::uint32_t v);

  std::string bytes_;
  element_type type_;
  std::uint32_t count_ = 0;
};

} // namespace bazaar::persistence
