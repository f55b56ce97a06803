#include "bazaar/gateway/cluster_routes.hpp"

#include "bazaar/domain/failure.hpp"

#include <charconv>

namespace bazaar::gateway {

void add_cluster_routes(router& r, std::function<boost::json::value()> cluster,
                        grains_listing grains) {
  r.add("GET", "/admin/cluster", access::admin, [cluster](http_request&, const responder_ptr& out) {
    if (!cluster)
      return out->fail(domain::not_found("this node is not in a cluster (no storage)"));
    out->json(200, cluster());
  });
  r.add("GET", "/admin/grains", access::admin,
        [grains](http_request& req, const responder_ptr& out) {
          auto type = req.query_or("type");
          if (!type.empty() && !domain::is_identifier(type))
            return out->fail(domain::validation_failed(
                "type", "type must be 1..64 characters of [A-Za-z0-9._:-]"));
          std::size_t limit = 100;
          auto text = req.query_or("limit");
          if (!text.empty()) {
            long long v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc{} || end != text.data() + text.size() || v < 1 || v > 10000)
              return out->fail(
                  domain::validation_failed("limit", "limit must be an integer from 1 to 10000"));
            limit = static_cast<std::size_t>(v);
          }
          if (!grains)
            return out->fail(domain::not_found("this node hosts no grains"));
          out->json(200, grains(type, limit));
        });
}

} // namespace bazaar::gateway
