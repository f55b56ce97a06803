#include "support/test_node.hpp"

#include "bazaar/gateway/jwt.hpp"
#include "bazaar/runtime/logging.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace bazaar::test {

namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string token(const std::string& subject, auth::role r, std::int64_t expires_at,
                  const std::string& secret) {
  auth::claims c;
  c.subject = subject;
  c.user_role = r;
  c.expires_at = expires_at;
  return auth::sign(c, secret);
}

/// Process-wide setup done once: the node's logger, and SIGPIPE ignored as the bazaar
/// executable does (tests write to sockets the node may have closed, and vice versa).
void setup_process(const config::log_options& log) {
  static std::once_flag once;
  std::call_once(once, [&log] {
    std::signal(SIGPIPE, SIG_IGN);
    if (!spdlog::get("bazaar"))
      runtime::setup_logging(log);
  });
}

} // namespace

config::node_options test_node_options() {
  config::node_options opts;
  opts.http.host = "127.0.0.1";
  opts.http.port = 0;
  opts.http.threads = 2;
  opts.http.max_body_bytes = 64 * 1024;
  opts.http.header_timeout_ms = 1000;
  opts.http.request_timeout_ms = 5000;
  opts.auth.jwt_secret = test_jwt_secret;
  opts.runtime.max_threads = 2;
  opts.log.level = "warn";
  opts.log.format = "text";
  opts.postgres.url = test_postgres_url();
  return opts;
}

test_node::test_node(config::node_options opts, std::vector<grain_extension> extensions) {
  setup_process(opts.log);
  // Real PostgreSQL, in a schema of this node's own that is dropped with it.
  schema_ = std::make_unique<pg_schema>();
  opts.postgres.url = schema_->url();
  opts.postgres.schema = schema_->name();
  node_ = std::make_unique<bazaar::node>(std::move(opts), std::move(extensions));
  node_->start();
  port_ = node_->http_port();
  // A node whose first connection attempt timed out (a loaded machine) serves at once but
  // answers 503 until its database monitor connects: tests start on a ready node, as
  // node_process does by waiting for /readyz.
  std::string why;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (!node_->ready(why)) {
    if (std::chrono::steady_clock::now() > deadline) {
      node_->stop();
      throw std::runtime_error("test node not ready within 60 s: " + why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

test_node::~test_node() {
  node_->stop();
  node_.reset();
}

std::string test_node::customer_token(const std::string& subject) const {
  return token(subject, auth::role::customer, now_seconds() + 3600, test_jwt_secret);
}

std::string test_node::admin_token(const std::string& subject) const {
  return token(subject, auth::role::admin, now_seconds() + 3600, test_jwt_secret);
}

std::string test_node::expired_token(const std::string& subject) const {
  return token(subject, auth::role::customer, now_seconds() - 60, test_jwt_secret);
}

std::string test_node::wrong_secret_token(const std::string& subject) const {
  return token(subject, auth::role::admin, now_seconds() + 3600, "not-the-node-secret");
}

std::string test_node::alg_none_token(const std::string& subject, const std::string& role) const {
  std::string header = R"({"alg":"none","typ":"JWT"})";
  std::string payload = R"({"sub":")" + subject + R"(","role":")" + role + R"(","exp":)" +
                        std::to_string(now_seconds() + 3600) + "}";
  return base64url(header) + "." + base64url(payload) + ".";
}

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string base64url(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned n = byte(i) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
  }
  return out;
}

} // namespace bazaar::test
