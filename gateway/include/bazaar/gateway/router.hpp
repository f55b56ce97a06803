#pragma once

/// Matches a method and path to a route: literal segments and `{name}` parameters.

#include "bazaar/gateway/http_request.hpp"

#include <functional>
#include <string>
#include <vector>

namespace bazaar::gateway {

/// Who may call a route.
enum class access {
  anyone,   ///< no token needed (/healthz, /readyz, /metrics)
  customer, ///< any valid token
  admin,    ///< a valid token with role admin; a customer's gets 403
};

using handler = std::function<void(http_request&, const responder_ptr&)>;

class route_meter;

struct route {
  std::string method;
  std::vector<std::string> segments; ///< "{x}" marks a parameter
  access who = access::customer;
  handler run;
  /// Counts and times its requests (http_metrics.hpp); null: not measured.
  route_meter* meter = nullptr;

  /// The pattern it was added with, e.g. "/api/v1/basket/items/{sku}".
  std::string pattern() const;
};

class router {
 public:
  /// Adds a route, e.g. add("PUT", "/api/v1/basket/items/{sku}", access::customer, h).
  /// Throws std::invalid_argument for a pattern of more than 32 segments.
  void add(std::string method, const std::string& pattern, access who, handler run);

  struct match {
    const route* found = nullptr;
    /// True when the path matched a route of another method only (405).
    bool method_mismatch = false;
    std::string allowed; ///< for the Allow header of a 405
  };

  /// Finds the route; `params` then holds its path parameters. Copies nothing of a path that
  /// matches no route.
  match find(const std::string& method, const std::string& path,
             std::vector<std::string>& params) const;

  /// A route as it is served: its method, pattern ("/api/v1/basket/items/{sku}") and access.
  struct listed_route {
    std::string method;
    std::string pattern;
    access who = access::customer;
  };

  /// Every route, in the order they were added (for the OpenAPI document's test).
  std::vector<listed_route> list() const;

  /// Calls `fn` with every route, in the order added (e.g. to give each its meter before the
  /// server starts).
  void each(const std::function<void(route&)>& fn) {
    for (auto& r : routes_)
      fn(r);
  }

 private:
  std::vector<route> routes_;
};

} // namespace bazaar::gateway
