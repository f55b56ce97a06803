#pragma once

/// Process-wide logging: spdlog to stderr, one JSON object per line (or plain text).
///
/// A JSON line has `time`, `level`, `node`, `logger`, `thread` and `msg`, and, when the thread
/// that writes it works for a request, a grain command or a Kafka record (a log_scope is set),
/// `correlation_id`, `grain` (type/key) and `order_id` where they are known. Secrets never
/// reach a line: the password of a PostgreSQL URL (postgres://user:***@...) or of a
/// `password=` pair is masked in every message, and so is every string given to
/// add_log_secret (the JWT secret).

#include "bazaar/config/options.hpp"

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace bazaar::runtime {

/// Installs the default logger according to the options. Call once at start.
void setup_logging(const config::log_options& opts);

/// The formatter setup_logging installs for `format` ("json" or "text").
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

/// The node id every line carries as `node` from now on (set once the node knows it).
void set_log_node(std::string node);

/// Masks `secret` (at least 8 characters; shorter ones are ignored) wherever it appears in a
/// message from now on.
void add_log_secret(std::string secret);

/// The password in a PostgreSQL URL (`postgresql://user:password@host/db`, as written there)
/// or connection string (`password=...`); "" when it has none.
std::string password_in(std::string_view url);

/// `text` with the passwords of PostgreSQL URLs and `password=` pairs, and the secrets given
/// to add_log_secret, replaced by `***`.
std::string redact_secrets(std::string_view text);

/// What the calling thread works for, as its log lines show it; empty fields are left out.
/// The views must outlive the log_scope that sets them.
struct log_context {
  std::string_view correlation_id;
  std::string_view grain_type; ///< with grain_key: `grain` = "type/key"
  std::string_view grain_key;
  std::string_view order_id;
};

/// The calling thread's context (all empty outside any log_scope).
const log_context& current_log_context() noexcept;

/// Sets the calling thread's log context for its lifetime, then restores the one before
/// (spdlog has no MDC: this is it).
class log_scope {
 public:
  explicit log_scope(const log_context& context) noexcept;
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

 private:
  log_context saved_;
};

} // namespace bazaar::runtime
