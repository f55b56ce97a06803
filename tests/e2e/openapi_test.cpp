// The OpenAPI document (gateway/openapi.json, served at /openapi.json) against the router the
// node builds: every route served is documented, every documented route is served, with the
// same access rule; the document is OpenAPI 3, every path parameter of a template is declared,
// and every reference resolves.

#include "bazaar/gateway/openapi.hpp"
#include "bazaar/gateway/routes.hpp"
#include "bazaar/runtime/clock.hpp"
#include "bazaar/runtime/host.hpp"
#include "support/http_client.hpp"
#include "support/test_node.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>

#include <set>
#include <utility>

using namespace bazaar;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

json::object document() {
  boost::system::error_code ec;
  auto v = json::parse(gateway::openapi_document(), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.get_object();
}

/// The value a local reference ("#/components/...") names, or null when it names nothing.
const json::value* resolve(const json::object& doc, std::string_view ref) {
  if (ref.substr(0, 2) != "#/")
    return nullptr;
  ref.remove_prefix(2);
  const json::object* at = &doc;
  const json::value* found = nullptr;
  while (!ref.empty()) {
    auto slash = ref.find('/');
    auto name = ref.substr(0, slash);
    if (at == nullptr)
      return nullptr;
    found = at->if_contains(json::string_view(name.data(), name.size()));
    if (found == nullptr)
      return nullptr;
    at = found->is_object() ? &found->get_object() : nullptr;
    ref = slash == std::string_view::npos ? std::string_view{} : ref.substr(slash + 1);
  }
  return found;
}

/// Every "$ref" in `v`, with where it is.
void collect_refs(const json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, x] : v.get_object()) {
      if (k == "$ref" && x.is_string())
        out.emplace_back(x.get_string());
      else
        collect_refs(x, out);
    }
  } else if (v.is_array()) {
    for (const auto& x : v.get_array())
      collect_refs(x, out);
  }
}

/// The `{name}`s of a path template.
std::set<std::string> template_params(const std::string& path) {
  std::set<std::string> out;
  for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1))
    out.insert(path.substr(open + 1, path.find('}', open) - open - 1));
  return out;
}

const char* access_name(gateway::access a) {
  switch (a) {
  case gateway::access::anyone:
    return "anyone";
  case gateway::access::customer:
    return "customer";
  case gateway::access::admin:
    return "admin";
  }
  return "?";
}

const std::set<std::string> http_methods{"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};

/// The routes of a router built as the node builds it (make_routes), on a grain host that
/// never serves: only the routing table is looked at.
std::vector<gateway::router::listed_route> served_routes() {
  caf::actor_system_config cfg;
  config::runtime_options opts;
  opts.max_threads = 1;
  runtime::configure(cfg, opts);
  caf::actor_system sys{cfg};
  runtime::system_clock clock;
  runtime::host host{sys, clock, opts, 1s};
  gateway::route_context context;
  context.grains = &host.client();
  auto routes = gateway::make_routes(std::move(context))->list();
  host.stop(1s);
  return routes;
}

} // namespace

TEST_CASE("every route the router serves is in the OpenAPI document with its access rule, and "
          "every documented route is served") {
  auto doc = document();
  const auto& paths = doc.at("paths").as_object();
  std::map<std::pair<std::string, std::string>, std::string> documented; // -> access
  for (const auto& [path, item] : paths)
    for (const auto& [method, op] : item.as_object())
      if (http_methods.count(std::string(method)) != 0) {
        std::string upper(method);
        for (auto& c : upper)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const auto* access = op.as_object().if_contains("x-bazaar-access");
        documented[{upper, std::string(path)}] =
            access != nullptr && access->is_string() ? std::string(access->get_string()) : "";
      }

  auto served = served_routes();
  REQUIRE(served.size() >= 28);
  std::set<std::pair<std::string, std::string>> served_set;
  for (const auto& r : served) {
    INFO(r.method << " " << r.pattern);
    served_set.insert({r.method, r.pattern});
    auto d = documented.find({r.method, r.pattern});
    CHECK(d != documented.end()); // served: documented
    if (d != documented.end())
      CHECK(d->second == access_name(r.who));
  }
  CHECK(served_set.size() == served.size()); // no route added twice
  for (const auto& [route, access] : documented) {
    INFO(route.first << " " << route.second);
    CHECK(served_set.count(route) == 1); // documented: served
  }
}

TEST_CASE("the OpenAPI document is OpenAPI 3, declares every path parameter of its templates, "
          "and every reference in it resolves") {
  auto doc = document();
  REQUIRE(doc.at("openapi").is_string());
  CHECK(std::string(doc.at("openapi").as_string()).rfind("3.", 0) == 0);
  CHECK(doc.at("info").as_object().contains("title"));
  CHECK(doc.at("info").as_object().contains("version"));
  const auto* bearer = resolve(doc, "#/components/securitySchemes/bearerAuth");
  REQUIRE(bearer != nullptr);
  CHECK(bearer->as_object().at("scheme") == "bearer");

  std::vector<std::string> refs;
  collect_refs(doc, refs);
  CHECK(!refs.empty());
  for (const auto& r : refs) {
    INFO(r);
    CHECK(resolve(doc, r) != nullptr);
  }

  for (const auto& [path, item] : doc.at("paths").as_object()) {
    auto wanted = template_params(std::string(path));
    for (const auto& [method, op_value] : item.as_object()) {
      if (http_methods.count(std::string(method)) == 0)
        continue;
      INFO(std::string(method) << " " << std::string(path));
      const auto& op = op_value.as_object();
      std::set<std::string> declared;
      if (const auto* params = op.if_contains("parameters"))
        for (const auto& p : params->as_array()) {
          const json::value* param = &p;
          if (const auto* ref = p.as_object().if_contains("$ref"))
            param = resolve(doc, std::string(ref->as_string()));
          REQUIRE(param != nullptr);
          const auto& po = param->as_object();
          if (po.at("in") == "path") {
            declared.insert(std::string(po.at("name").as_string()));
            CHECK(po.at("required") == true);
          }
        }
      CHECK(declared == wanted);
      // Answers: a success, and every status an object with a description (or a reference).
      const auto& responses = op.at("responses").as_object();
      bool success = false;
      for (const auto& [status, r] : responses) {
        success = success || (!status.empty() && status[0] == '2');
        const json::value* answer = &r;
        if (const auto* ref = r.as_object().if_contains("$ref"))
          answer = resolve(doc, std::string(ref->as_string()));
        REQUIRE(answer != nullptr);
        CHECK(answer->as_object().contains("description"));
      }
      CHECK(success);
      // Security: none for anyone, the bearer token otherwise.
      const auto& security = op.at("security").as_array();
      CHECK(security.empty() == (op.at("x-bazaar-access") == "anyone"));
    }
  }
}

TEST_CASE("GET /openapi.json answers the document to anyone, without a token") {
  test::test_node node;
  auto c = node.connect();
  auto r = c.request("GET", "/openapi.json");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.body == gateway::openapi_document());
  CHECK(r.json().at("openapi").is_string());
}
