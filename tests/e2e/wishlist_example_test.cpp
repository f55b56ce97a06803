// The README's "Adding a grain type" example (tests/example: its rules, its grain, its routes)
// hosted by a real node with one registration line, and served over HTTP: a durable grain type
// with its own API, refusals, idempotency, journal and snapshot, and nothing else to write.

#include "example/wishlist_routes.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace bazaar;
using namespace bazaar::test;
namespace json = boost::json;

namespace {

json::array skus_of(const http_response& r) {
  auto body = r.json();
  return body.as_object().at("skus").as_array();
}

} // namespace

TEST_CASE("the README's wishlist grain type is served over HTTP, durable and idempotent") {
  // The registration line:
  test_node n{test_node_options(),
              {grain_extension_of(actors::wishlist_grain{}, example::add_wishlist_routes)}};
  auto c = n.connect();
  auto alice = bearer(n.customer_token("alice"));
  auto admin = bearer(n.admin_token());

  auto empty = c.request("GET", "/api/v1/wishlist", {}, alice);
  REQUIRE(empty.status == 200);
  CHECK(empty.json() == json::parse(R"({"customer_id":"alice","skus":[],"version":0,)"
                                    R"("updated_at":0,"size":0})"));

  auto keyed = alice;
  keyed.emplace_back("Idempotency-Key", "wish-1");
  auto added = c.request("POST", "/api/v1/wishlist/items", R"({"sku":"MUG-1"})", keyed);
  REQUIRE(added.status == 200);
  CHECK(skus_of(added) == json::array{"MUG-1"});
  CHECK(added.json().at("version") == 1);
  auto retried = c.request("POST", "/api/v1/wishlist/items", R"({"sku":"MUG-1"})", keyed);
  CHECK(retried.status == 200);
  CHECK(retried.body == added.body);
  auto reused = c.request("POST", "/api/v1/wishlist/items", R"({"sku":"MUG-2"})", keyed);
  CHECK(reused.status == 409); // the key names another request

  // Bad input gets a clear error and changes nothing.
  CHECK(c.request("POST", "/api/v1/wishlist/items", R"({"sku":"no spaces"})", alice).status == 422);
  CHECK(c.request("POST", "/api/v1/wishlist/items", R"({})", alice).status == 422);
  CHECK(c.request("POST", "/api/v1/wishlist/items", "not json", alice).status == 400);
  CHECK(c.request("GET", "/api/v1/wishlist").status == 401);
  CHECK(c.request("GET", "/api/v1/wishlist", {}, alice).json().at("version") == 1);

  REQUIRE(c.request("POST", "/api/v1/wishlist/items", R"({"sku":"MUG-2"})", alice).status == 200);
  auto removed = c.request("DELETE", "/api/v1/wishlist/items/MUG-1", {}, alice);
  REQUIRE(removed.status == 200);
  CHECK(skus_of(removed) == json::array{"MUG-2"});
  CHECK(removed.json().at("version") == 3);
  CHECK(skus_of(c.request("GET", "/api/v1/wishlist", {}, bearer(n.customer_token("bob")))).empty());

  // Stored as its description says, and loaded back from PostgreSQL after a deactivation.
  auto inspected = c.request("GET", "/admin/grains/wishlist/alice", {}, admin);
  REQUIRE(inspected.status == 200);
  CHECK(inspected.json().at("state").at("skus") == json::array{"MUG-2"});
  REQUIRE(c.request("POST", "/admin/grains/wishlist/alice/deactivate", {}, admin).status == 200);
  auto reloaded = c.request("GET", "/api/v1/wishlist", {}, alice);
  REQUIRE(reloaded.status == 200);
  CHECK(reloaded.body == removed.body);

  // Its events are in the journal.
  auto journal = c.request("GET", "/api/v1/admin/events/wishlist/alice", {}, admin);
  REQUIRE(journal.status == 200);
  std::vector<std::string> types;
  auto events = journal.json();
  for (const auto& e : events.at("items").as_array())
    types.emplace_back(e.at("event_type").as_string());
  CHECK(types == std::vector<std::string>{"wishlist-item-added", "wishlist-item-added",
                                          "wishlist-item-removed"});
}
