#include "bazaar/runtime/grain_admin.hpp"

#include "bazaar/runtime/atoms.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/placement.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

namespace bazaar::runtime {

namespace json = boost::json;

namespace {

/// How long an inspection may take: the grain may have to be activated and loaded first.
constexpr std::chrono::seconds inspect_timeout{10};
/// How long a grain may take to persist what is in flight and stop.
constexpr std::chrono::seconds deactivate_timeout{15};
/// How long a grain may take to answer a probe of its mailbox in a listing.
constexpr std::chrono::seconds probe_timeout{1};
/// How long a node may take to answer a listing.
constexpr std::chrono::seconds list_timeout{5};

/// A failure an operator can act on, for errors of the way to the grain.
caf::error admin_error(const caf::error& e, const grain_id& id) {
  if (is_not_owner(e))
    return make_failure(core::errc::unavailable,
                        id.str() + " is moving between nodes now; retry the request");
  if (e == caf::sec::unexpected_message)
    return make_failure(core::errc::bad_request,
                        "grains of type " + id.type + " cannot be inspected");
  return e;
}

/// Sends `msg` to `target` from a short-lived actor and gives `done` the answer of type R.
template <class R, class... Ts>
void ask(caf::actor_system& sys, const caf::actor& target, std::chrono::milliseconds timeout,
         std::function<void(caf::expected<R>)> done, Ts... xs) {
  // The target is an argument, not a capture: CAF 0.17 binds a reference through a null
  // pointer when a function-based actor gets no arguments (UBSan).
  sys.spawn(
      [timeout, done = std::move(done), xs...](caf::event_based_actor* self, caf::actor to) {
        self->request(to, timeout, xs...)
            .then([done](R& r) { done(std::move(r)); }, [done](caf::error& e) { done(e); });
      },
      target);
}

/// The JSON object text of a grain's inspection with the catalog's facts of its activation.
std::string with_activation(std::string body, const std::optional<activation_info>& info) {
  if (!info || body.empty() || body.back() != '}')
    return body;
  body.pop_back();
  body += ",\"activated_at_ms\":" + std::to_string(info->activated_wall_ms);
  body += ",\"idle_ms\":" + std::to_string(info->idle_ms);
  body += '}';
  return body;
}

/// A listing being put together: one entry per grain, each waiting for its mailbox probe.
struct listing {
  std::vector<activation_info> grains;
  std::vector<std::optional<std::uint64_t>> mailbox;
  std::size_t waiting = 0;
  caf::response_promise rp;

  std::string render() const {
    json::array items;
    for (std::size_t i = 0; i < grains.size(); ++i) {
      const auto& g = grains[i];
      items.push_back(
          json::object{{"type", g.id.type},
                       {"key", g.id.key},
                       {"idle_ms", g.idle_ms},
                       {"activated_at_ms", g.activated_wall_ms},
                       {"version", g.version},
                       {"observers", g.observers},
                       {"mailbox", mailbox[i] ? json::value(*mailbox[i]) : json::value(nullptr)}});
    }
    return json::serialize(items);
  }
};

} // namespace

caf::behavior local_grain_admin(caf::event_based_actor* self, std::shared_ptr<catalog> grains) {
  return {
      [self, grains](inspect_atom, const grain_id& id) -> caf::result<std::string> {
        auto target = grains->resolve_here(id);
        if (!target)
          return admin_error(target.error(), id);
        auto rp = self->make_response_promise<std::string>();
        self->request(*target, inspect_timeout, inspect_atom::value)
            .then(
                [rp, grains, id](std::string& body) mutable {
                  rp.deliver(with_activation(std::move(body), grains->info(id)));
                },
                [rp, id](caf::error& e) mutable { rp.deliver(admin_error(e, id)); });
        return rp;
      },
      [self, grains](deactivate_atom, const grain_id& id) -> caf::result<bool> {
        auto handle = grains->find_local(id);
        if (!handle)
          return false;
        auto rp = self->make_response_promise<bool>();
        // A watcher per request: it learns that the grain stopped from its down message.
        self->spawn(
            [rp](caf::event_based_actor* w, caf::actor grain) mutable -> caf::behavior {
              w->monitor(grain);
              w->set_down_handler([w, rp](caf::down_msg&) {
                auto promise = rp;
                promise.deliver(true);
                w->quit();
              });
              w->send(grain, deactivate_atom::value, force_deactivation);
              w->delayed_send(w, deactivate_timeout, tick_atom::value);
              return {[w, rp](tick_atom) mutable {
                rp.deliver(make_failure(core::errc::timeout,
                                        "the grain did not stop within 15 s (writes in flight)"));
                w->quit();
              }};
            },
            handle);
        return rp;
      },
      [self, grains](list_atom, const std::string& type,
                     std::uint64_t limit) -> caf::result<std::string> {
        auto l = std::make_shared<listing>();
        l->grains = grains->list(type, static_cast<std::size_t>(limit));
        l->mailbox.resize(l->grains.size());
        if (l->grains.empty())
          return l->render();
        l->rp = self->make_response_promise();
        l->waiting = l->grains.size();
        auto one_done = [l] {
          if (--l->waiting == 0)
            l->rp.deliver(l->render());
        };
        for (std::size_t i = 0; i < l->grains.size(); ++i) {
          auto handle = grains->find_local(l->grains[i].id);
          if (!handle) { // left meanwhile
            one_done();
            continue;
          }
          self->request(handle, probe_timeout, probe_atom::value)
              .then(
                  [l, i, one_done](std::uint64_t depth) {
                    l->mailbox[i] = depth;
                    one_done();
                  },
                  [one_done](caf::error&) { one_done(); });
        }
        return l->rp;
      },
  };
}

grain_admin::grain_admin(caf::actor_system& sys, std::shared_ptr<catalog> grains,
                         std::function<std::string()> node_id)
    : system_(sys), grains_(std::move(grains)), node_id_(std::move(node_id)) {
  local_ = system_.spawn(local_grain_admin, grains_);
}

grain_admin::~grain_admin() {
  caf::anon_send_exit(local_, caf::exit_reason::user_shutdown);
}

namespace {

/// Where the admin request for grain `id` goes: this node's admin actor, or the router of the
/// node that owns the grain, with that node's id; an error when the owner cannot be asked.
caf::expected<std::pair<caf::actor, std::string>> admin_of(const catalog& grains,
                                                           const caf::actor& local,
                                                           const std::string& here,
                                                           const grain_id& id) {
  const auto* placement = grains.placement();
  auto owner = placement != nullptr ? placement->owner_elsewhere(id) : std::string{};
  if (owner.empty())
    return std::make_pair(local, here);
  auto router = placement->router_of(owner);
  if (!router)
    return make_failure(core::errc::unavailable, id.str() + " lives on node " + owner +
                                                     ", which this node cannot reach now");
  return std::make_pair(router, owner);
}

/// `{"type", "key", "node"}` followed by the members of `body` (a JSON object's text).
caf::expected<json::value> grain_answer(const grain_id& id, const std::string& node,
                                        const std::string& body) {
  json::object out{{"type", id.type}, {"key", id.key}, {"node", node}};
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object())
    return make_failure(core::errc::internal, "the grain's inspection is not a JSON object");
  for (auto& [k, v] : parsed.as_object())
    out[k] = std::move(v);
  return json::value(std::move(out));
}

} // namespace

void grain_admin::inspect(const grain_id& id, json_done done) const {
  auto where = admin_of(*grains_, local_, node_id_(), id);
  if (!where)
    return done(where.error());
  auto node = where->second;
  ask<std::string>(
      system_, where->first, inspect_timeout,
      [id, node, done](caf::expected<std::string> body) {
        if (!body)
          return done(admin_error(body.error(), id));
        done(grain_answer(id, node, *body));
      },
      inspect_atom::value, id);
}

void grain_admin::deactivate(const grain_id& id, json_done done) const {
  auto where = admin_of(*grains_, local_, node_id_(), id);
  if (!where)
    return done(where.error());
  auto node = where->second;
  ask<bool>(
      system_, where->first, deactivate_timeout + std::chrono::seconds{1},
      [id, node, done](caf::expected<bool> was_active) {
        if (!was_active)
          return done(admin_error(was_active.error(), id));
        done(json::value{
            {"type", id.type}, {"key", id.key}, {"node", node}, {"deactivated", *was_active}});
      },
      deactivate_atom::value, id);
}

namespace {

/// A listing across nodes being put together.
struct cluster_listing {
  std::vector<std::string> nodes;
  std::vector<caf::expected<std::string>> answers;
  std::size_t waiting = 0;
  std::size_t limit = 0;
  grain_admin::json_done done;
  std::mutex mtx;

  void finish() {
    json::array node_rows;
    std::vector<json::object> items;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      json::object row{{"node", nodes[i]}};
      const auto& a = answers[i];
      json::value parsed;
      boost::system::error_code ec;
      if (a)
        parsed = json::parse(*a, ec);
      if (!a || ec || !parsed.is_array()) {
        row["ok"] = false;
        row["error"] = a ? std::string{"unreadable answer"} : to_failure(a.error()).message;
      } else {
        row["ok"] = true;
        row["active"] = parsed.as_array().size();
        for (auto& item : parsed.as_array())
          if (item.is_object()) {
            auto& o = item.as_object();
            o["node"] = nodes[i];
            items.push_back(std::move(o));
          }
      }
      node_rows.push_back(std::move(row));
    }
    auto text = [](const json::object& o, const char* k) {
      const auto* v = o.if_contains(k);
      return v != nullptr && v->is_string() ? std::string_view{v->get_string()}
                                            : std::string_view{};
    };
    std::sort(items.begin(), items.end(), [&](const json::object& a, const json::object& b) {
      return std::forward_as_tuple(text(a, "type"), text(a, "key")) <
             std::forward_as_tuple(text(b, "type"), text(b, "key"));
    });
    bool truncated = items.size() > limit;
    if (truncated)
      items.resize(limit);
    json::array rows;
    for (auto& o : items)
      rows.push_back(std::move(o));
    done(json::value{
        {"nodes", std::move(node_rows)}, {"items", std::move(rows)}, {"truncated", truncated}});
  }
};

} // namespace

void grain_admin::list(const std::string& type, const std::string& node, std::size_t limit,
                       json_done done) const {
  if (!type.empty() && !grains_->knows_type(type))
    return done(make_failure(core::errc::not_found, "unknown grain type " + type));
  const auto* placement = grains_->placement();
  auto here = node_id_();
  std::vector<std::string> nodes =
      placement != nullptr ? placement->live_nodes() : std::vector<std::string>{};
  if (std::find(nodes.begin(), nodes.end(), here) == nodes.end())
    nodes.push_back(here); // a node that is not a member (yet) still shows its own grains
  if (!node.empty()) {
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end())
      return done(make_failure(core::errc::not_found, "no live node " + node));
    nodes = {node};
  }
  std::sort(nodes.begin(), nodes.end());
  auto l = std::make_shared<cluster_listing>();
  l->nodes = nodes;
  l->answers.resize(nodes.size(), caf::expected<std::string>{std::string{}});
  l->waiting = nodes.size();
  l->limit = limit;
  l->done = std::move(done);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    caf::actor target = nodes[i] == here ? local_ : placement->router_of(nodes[i]);
    auto record = [l, i](caf::expected<std::string> answer) {
      // Answers arrive on the CAF threads of the actors that asked: one at a time per asker,
      // but several askers at once.
      std::lock_guard<std::mutex> guard{l->mtx};
      l->answers[i] = std::move(answer);
      if (--l->waiting == 0)
        l->finish();
    };
    if (!target) {
      record(make_failure(core::errc::unavailable, "not reachable from this node now"));
      continue;
    }
    ask<std::string>(system_, target, list_timeout, record, list_atom::value, type,
                     static_cast<std::uint64_t>(limit));
  }
}

} // namespace bazaar::runtime
