#include "bazaar/gateway/metrics_route.hpp"

#include "bazaar/domain/failure.hpp"

namespace bazaar::gateway {

void add_metrics_route(router& r, std::function<std::string()> scrape) {
  r.add("GET", "/metrics", access::anyone, [scrape](http_request&, const responder_ptr& out) {
    if (!scrape)
      return out->fail(domain::not_found("this node keeps no metrics"));
    out->text(200, scrape(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

} // namespace bazaar::gateway
