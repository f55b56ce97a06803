#pragma once

/// A bazaar::node started in-process on 127.0.0.1 with an ephemeral port, a test JWT secret,
/// short timeouts and the real PostgreSQL in a schema of its own (dropped when the node
/// stops, so tests neither share state nor leave any behind), plus tokens of every kind the
/// HTTP tests need.

#include "bazaar/config/options.hpp"
#include "bazaar/node.hpp"
#include "support/http_client.hpp"
#include "support/pg_schema.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::test {

/// The secret a test node verifies tokens with.
inline constexpr const char* test_jwt_secret = "e2e-test-secret-4f1c9a";

/// The options of a test node: 127.0.0.1, port 0, a 64 KiB body limit, a 1 s header
/// timeout, a 5 s request timeout, two HTTP and two CAF threads, warnings only in the log,
/// and the test PostgreSQL.
config::node_options test_node_options();

/// A running node for one test; stopped by the destructor.
class test_node {
 public:
  /// Starts a node on PostgreSQL in a fresh schema, hosting the grain types of `extensions`
  /// too.
  explicit test_node(config::node_options opts = test_node_options(),
                     std::vector<grain_extension> extensions = {});
  ~test_node();

  test_node(const test_node&) = delete;
  test_node& operator=(const test_node&) = delete;

  /// The bound HTTP port.
  std::uint16_t port() const { return port_; }

  /// The node itself, e.g. for its options.
  bazaar::node& node() { return *node_; }

  /// A new kept-alive connection to the node.
  http_connection connect() const { return http_connection{port_}; }

  /// A valid customer token for `subject`, one hour long.
  std::string customer_token(const std::string& subject) const;

  /// A valid admin token, one hour long.
  std::string admin_token(const std::string& subject = "admin") const;

  /// A customer token whose `exp` passed a minute ago (otherwise valid).
  std::string expired_token(const std::string& subject) const;

  /// A customer token signed with a secret other than the node's.
  std::string wrong_secret_token(const std::string& subject) const;

  /// An unsigned token built by hand: header {"alg":"none","typ":"JWT"}, claims sub, role
  /// and a future exp, and an empty signature segment.
  std::string alg_none_token(const std::string& subject,
                             const std::string& role = "customer") const;

 private:
  std::unique_ptr<pg_schema> schema_; // outlives the node: dropped after it stopped
  std::unique_ptr<bazaar::node> node_;
  std::uint16_t port_ = 0;
};

/// `{{"Authorization", "Bearer " + token}}`.
header_list bearer(const std::string& token);

/// Unpadded base64url, as JWT segments use.
std::string base64url(std::string_view bytes);

} // namespace bazaar::test
