/// bazaarctl's commands over the admin API (docs/API.md "Runtime administration"): each asks
/// one node, which answers for the whole cluster, and prints an aligned table (or, with
/// --json, the node's JSON answer as it came).

#include "bazaar/core/time.hpp"
#include "bazaar/gateway/jwt.hpp"
#include "commands.hpp"
#include "http_client.hpp"
#include "table.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <optional>

namespace bazaar::ctl {

namespace json = boost::json;

std::optional<std::int64_t> parse_duration_ms(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > 12)
    return std::nullopt;
  std::int64_t n = std::stoll(text.substr(0, digits));
  auto unit = text.substr(digits);
  if (unit.empty() || unit == "ms")
    return n;
  if (unit == "s")
    return n * 1000;
  if (unit == "m")
    return n * 60 * 1000;
  if (unit == "h")
    return n * 3600 * 1000;
  return std::nullopt;
}

namespace {

/// A number of digits only (at most 18), or nullopt.
std::optional<std::int64_t> whole_number(const std::string& t) {
  if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(t);
}

/// A TYPE/KEY argument.
struct grain_ref {
  std::string type;
  std::string key;
};

/// Validates TYPE/KEY (and TYPE/ID) arguments for CLI11.
CLI::Validator grain_argument() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        auto slash = text.find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == text.size())
          return "\"" + text + "\" is not TYPE/KEY (e.g. basket/alice)";
        return {};
      },
      "TYPE/KEY");
}

grain_ref split(const std::string& text) {
  auto slash = text.find('/');
  return {text.substr(0, slash), text.substr(slash + 1)};
}

/// Percent-encodes a path segment or query value.
std::string encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':')
      out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string text(const json::value& v) {
  if (v.is_string())
    return std::string{v.get_string()};
  if (v.is_null())
    return "-";
  return json::serialize(v);
}

/// The member `key` of an object as table text ("-" when absent or null).
std::string field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? "-" : text(*v);
}

std::int64_t number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr)
    return 0;
  if (v->is_int64())
    return v->get_int64();
  if (v->is_uint64())
    return static_cast<std::int64_t>(v->get_uint64());
  return 0;
}

/// Milliseconds for people: "850 ms", "12.4 s", "3.0 min", "2.5 h".
std::string duration(std::int64_t ms) {
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  else if (ms < 120000)
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000.0);
  else if (ms < 2 * 3600000)
    std::snprintf(buf, sizeof buf, "%.1f min", ms / 60000.0);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", ms / 3600000.0);
  return buf;
}

/// One call to the node: the parsed answer, or nullopt once the failure was printed.
class node_call {
 public:
  node_call(const connection_flags& flags, const config::node_options& options)
      : flags_(flags), options_(options) {}

  std::optional<json::value> operator()(const std::string& method, const std::string& path,
                                        const std::string& body = {}) {
    endpoint to;
    try {
      to = endpoint::parse(flags_.url);
    } catch (const std::invalid_argument& e) {
      std::cerr << "bazaarctl: " << e.what() << '\n';
      status = usage_error;
      return std::nullopt;
    }
    http_answer a;
    try {
      a = request(to, method, path, token(), body, std::chrono::milliseconds{flags_.timeout_ms});
    } catch (const unreachable& e) {
      std::cerr << "bazaarctl: " << e.what() << '\n';
      return std::nullopt;
    }
    boost::system::error_code ec;
    auto parsed = json::parse(a.body, ec);
    if (a.status >= 200 && a.status < 300 && !ec) {
      raw = a.body;
      return parsed;
    }
    std::string code, message;
    if (!ec && parsed.is_object())
      if (const auto* e = parsed.as_object().if_contains("error"); e && e->is_object()) {
        code = field(e->as_object(), "code");
        message = field(e->as_object(), "message");
      }
    if (a.status == 401)
      std::cerr << "bazaarctl: " << flags_.url << " refused the token (401 " << code << ": "
                << message
                << "); pass --token or BAZAAR_ADMIN_TOKEN, or sign with the node's "
                   "auth.jwt_secret (BAZAAR_JWT_SECRET)\n";
    else if (a.status == 403)
      std::cerr << "bazaarctl: " << flags_.url << " refused the token: it is not an admin's (403 "
                << message << ")\n";
    else if (ec)
      std::cerr << "bazaarctl: " << method << ' ' << path << " answered " << a.status
                << " with a body that is not JSON\n";
    else
      std::cerr << "bazaarctl: " << method << ' ' << path << " answered " << a.status << ' ' << code
                << ": " << message << '\n';
    return std::nullopt;
  }

  /// The exit status of a failed call.
  int status = failed;
  /// The body of the last successful answer, for --json.
  std::string raw;

 private:
  std::string token() const {
    if (!flags_.token.empty())
      return flags_.token;
    auth::claims c;
    c.subject = "bazaarctl";
    c.user_role = auth::role::admin;
    c.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() +
                   300;
    return auth::sign(c, options_.auth.jwt_secret);
  }

  const connection_flags& flags_;
  const config::node_options& options_;
};

/// Runs `show` on the answer to GET `path()` (or prints it as JSON): the common shape of
/// the read commands.
template <class Path, class Show>
command_fn show_get(std::shared_ptr<connection_flags> flags, Path path, Show show) {
  return [flags, path, show](const config::node_options& options) {
    node_call call{*flags, options};
    auto answer = call("GET", path());
    if (!answer)
      return call.status;
    if (flags->json)
      std::cout << call.raw << '\n';
    else
      show(answer->as_object());
    return 0;
  };
}

void show_cluster(const json::object& c) {
  std::cout << "asked node " << field(c, "node_id") << " (view " << field(c, "view_epoch") << ", "
            << field(c, "alive") << " alive)\n\n";
  table t{
      {"NODE", "STATUS", "ADDRESS", "HTTP", "INCARNATION", "HEARTBEAT", "ACTIVATIONS", "LINKED"}};
  for (const auto& n : c.at("nodes").as_array()) {
    const auto& o = n.as_object();
    t.add({field(o, "id"), field(o, "status"), field(o, "address"), field(o, "http_port"),
           field(o, "incarnation"), duration(number(o, "heartbeat_age_ms")) + " ago",
           field(o, "activations"), field(o, "linked")});
  }
  t.print(std::cout);
}

void show_grains(const json::object& g) {
  table t{{"NODE", "TYPE", "KEY", "VERSION", "IDLE", "MAILBOX", "OBSERVERS", "ACTIVATED"}};
  for (const auto& i : g.at("items").as_array()) {
    const auto& o = i.as_object();
    t.add({field(o, "node"), field(o, "type"), field(o, "key"), field(o, "version"),
           duration(number(o, "idle_ms")), field(o, "mailbox"), field(o, "observers"),
           core::format_rfc3339(number(o, "activated_at_ms"))});
  }
  if (t.empty())
    std::cout << "no active grains\n";
  else
    t.print(std::cout);
  for (const auto& n : g.at("nodes").as_array()) {
    const auto& o = n.as_object();
    if (o.at("ok").as_bool())
      continue;
    std::cout << "node " << field(o, "node") << " did not answer: " << field(o, "error") << '\n';
  }
  if (g.at("truncated").as_bool())
    std::cout << "(more grains are active than --limit shows)\n";
}

void show_grain(const json::object& g) {
  std::cout << field(g, "type") << '/' << field(g, "key") << " on node " << field(g, "node")
            << "\n  version      " << field(g, "version") << "\n  activated    "
            << core::format_rfc3339(number(g, "activated_at_ms")) << "\n  last active  "
            << duration(number(g, "idle_ms")) << " ago\n  mailbox      " << field(g, "mailbox")
            << "\n  observers    " << field(g, "observers") << "\n  writing      "
            << (g.at("writes_in_flight").as_bool() ? "yes" : "no") << "\n  state\n    "
            << json::serialize(g.at("state")) << '\n';
}

void show_kafka(const json::object& k) {
  std::cout << "bootstrap  " << field(k, "bootstrap_servers")
            << (k.at("embedded").as_bool() ? " (embedded mock cluster of this node)" : "") << '\n';
  const auto& relay = k.at("relay").as_object();
  std::string outbox = "-";
  if (const auto* o = k.if_contains("outbox"); o && o->is_object()) {
    const auto& ob = o->as_object();
    outbox = ob.if_contains("error")
                 ? field(ob, "error")
                 : field(ob, "backlog") + " events not published yet" +
                       (number(ob, "backlog") > 0
                            ? ", the oldest for " + duration(number(ob, "oldest_ms"))
                            : std::string{});
  }
  std::cout << "outbox     " << outbox << " (this node's relay "
            << (relay.at("running").as_bool() ? "runs" : "does not run")
            << (relay.if_contains("leading") && relay.at("leading").as_bool() ? " and leads" : "")
            << ")\n\n";
  table groups{{"GROUP", "ROLE", "LAG", "PARTITIONS"}};
  table lagging{{"GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"}};
  if (const auto* gs = k.if_contains("groups"))
    for (const auto& g : gs->as_array()) {
      const auto& o = g.as_object();
      if (o.if_contains("error")) {
        groups.add({field(o, "group_id"), field(o, "role"), "?", field(o, "error")});
        continue;
      }
      groups.add({field(o, "group_id"), field(o, "role"), field(o, "lag"),
                  std::to_string(o.at("partitions").as_array().size())});
      for (const auto& p : o.at("partitions").as_array()) {
        const auto& po = p.as_object();
        if (number(po, "lag") > 0)
          lagging.add({field(o, "group_id"), field(po, "topic"), field(po, "partition"),
                       field(po, "committed"), field(po, "high_watermark"), field(po, "lag")});
      }
    }
  groups.print(std::cout);
  if (!lagging.empty()) {
    std::cout << "\npartitions behind:\n";
    lagging.print(std::cout);
  }
  if (const auto* dl = k.if_contains("dead_letters")) {
    const auto& d = dl->as_object();
    if (d.if_contains("error")) {
      std::cout << "\ndead letters: " << field(d, "error") << '\n';
      return;
    }
    std::cout << "\ndead letters: " << field(d, "records") << '\n';
    table t{{"TOPIC", "RECORDS", "NOT REPLAYED"}};
    for (const auto& row : d.at("topics").as_array()) {
      const auto& o = row.as_object();
      if (number(o, "records") > 0)
        t.add({field(o, "topic"), field(o, "records"), field(o, "not_replayed")});
    }
    if (!t.empty())
      t.print(std::cout);
  }
}

void show_dead_letters(const json::object& d) {
  table t{{"TOPIC", "PARTITION", "OFFSET", "EVENT", "EVENT ID", "FAILED AT", "REPLAYED", "ERROR"}};
  for (const auto& i : d.at("items").as_array()) {
    const auto& o = i.as_object();
    t.add({field(o, "topic"), field(o, "partition"), field(o, "offset"), field(o, "event_type"),
           field(o, "event_id"), field(o, "failed_at"), field(o, "replayed"), field(o, "error")});
  }
  if (t.empty())
    std::cout << "no dead letters\n";
  else
    t.print(std::cout);
}

void show_sagas(const json::object& s) {
  table t{{"ORDER", "STAGE", "PAYMENT", "ORDER STATUS", "STUCK FOR", "CUSTOMER", "AMOUNT"}};
  for (const auto& i : s.at("items").as_array()) {
    const auto& o = i.as_object();
    t.add({field(o, "order_id"), field(o, "stage"), field(o, "payment"), field(o, "order_status"),
           duration(number(o, "stuck_ms")), field(o, "customer_id"), field(o, "amount_cents")});
  }
  if (t.empty())
    std::cout << "no saga has been waiting longer than " << duration(number(s, "stuck_ms")) << '\n';
  else
    t.print(std::cout);
}

void show_events(const json::object& e) {
  table t{{"VERSION", "EVENT", "OCCURRED AT", "CORRELATION ID", "EVENT ID"}};
  for (const auto& i : e.at("items").as_array()) {
    const auto& o = i.as_object();
    std::string correlation = "-";
    if (const auto* m = o.if_contains("metadata"); m && m->is_object())
      correlation = field(m->as_object(), "correlation_id");
    t.add({field(o, "version"), field(o, "event_type"), field(o, "occurred_at"), correlation,
           field(o, "event_id")});
  }
  if (t.empty())
    std::cout << "no events\n";
  else
    t.print(std::cout);
}

/// The grain and deactivate commands, which name one grain.
void add_grain_commands(CLI::App& app, std::shared_ptr<connection_flags> flags,
                        std::vector<command>& out) {
  auto grain = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "grain", "Show one grain: its node, version, activation, mailbox and state (activates it)");
  sub->add_option("grain", *grain, "TYPE/KEY, e.g. basket/alice")
      ->required()
      ->check(grain_argument());
  out.push_back({sub, show_get(
                          flags,
                          [grain] {
                            auto g = split(*grain);
                            return "/admin/grains/" + encode(g.type) + "/" + encode(g.key);
                          },
                          show_grain)});

  auto target = std::make_shared<std::string>();
  sub = app.add_subcommand("deactivate", "Persist and stop one grain (it reactivates on its next "
                                         "call, from its snapshot)");
  sub->add_option("grain", *target, "TYPE/KEY, e.g. basket/alice")
      ->required()
      ->check(grain_argument());
  out.push_back({sub, [flags, target](const config::node_options& options) {
                   auto g = split(*target);
                   node_call call{*flags, options};
                   auto answer = call("POST", "/admin/grains/" + encode(g.type) + "/" +
                                                  encode(g.key) + "/deactivate");
                   if (!answer)
                     return call.status;
                   const auto& o = answer->as_object();
                   if (flags->json)
                     std::cout << call.raw << '\n';
                   else if (o.at("deactivated").as_bool())
                     std::cout << *target << " persisted and deactivated on node "
                               << field(o, "node") << '\n';
                   else
                     std::cout << *target << " was not active (its node: " << field(o, "node")
                               << ")\n";
                   return 0;
                 }});
}

/// dlq list and dlq replay.
void add_dlq_commands(CLI::App& app, std::shared_ptr<connection_flags> flags,
                      std::vector<command>& out) {
  auto* dlq = app.add_subcommand("dlq", "Dead letters: list them, or replay them to their topic");
  dlq->require_subcommand(1);
  struct list_flags {
    std::string topic;
    int limit = 100;
  };
  auto lf = std::make_shared<list_flags>();
  auto* list = dlq->add_subcommand("list", "List dead letters with their error");
  list->add_option("--topic", lf->topic, "Only this topic's (the topic or its .dlq)");
  list->add_option("--limit", lf->limit, "At most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  out.push_back({list, show_get(
                           flags,
                           [lf] {
                             std::string q = "/admin/kafka/dlq?limit=" + std::to_string(lf->limit);
                             if (!lf->topic.empty())
                               q += "&topic=" + encode(lf->topic);
                             return q;
                           },
                           show_dead_letters)});

  struct replay_flags {
    std::string record;
    bool all = false;
    std::string topic;
  };
  auto rf = std::make_shared<replay_flags>();
  auto* replay = dlq->add_subcommand(
      "replay", "Put dead letters back on their source topic (consumers drop event ids they "
                "handled, so a replay is safe to repeat)");
  auto* one = replay->add_option("record", rf->record,
                                 "One dead letter as TOPIC:PARTITION:OFFSET (as dlq list shows)");
  auto* all = replay->add_flag("--all", rf->all, "Every dead letter not replayed yet");
  replay->add_option("--topic", rf->topic, "With --all: only this topic's");
  one->excludes(all);
  out.push_back(
      {replay, [flags, rf](const config::node_options& options) {
         json::object body;
         if (rf->all) {
           body["all"] = true;
           if (!rf->topic.empty())
             body["topic"] = rf->topic;
         } else {
           auto last = rf->record.rfind(':');
           auto mid = last == std::string::npos || last == 0 ? std::string::npos
                                                             : rf->record.rfind(':', last - 1);
           auto partition = mid == std::string::npos || mid == 0
                                ? std::nullopt
                                : whole_number(rf->record.substr(mid + 1, last - mid - 1));
           auto offset = partition ? whole_number(rf->record.substr(last + 1)) : std::nullopt;
           if (!offset) {
             std::cerr << "bazaarctl: dlq replay: name one record as "
                          "TOPIC:PARTITION:OFFSET (as dlq list shows), or pass --all\n";
             return usage_error;
           }
           body["topic"] = rf->record.substr(0, mid);
           body["partition"] = *partition;
           body["offset"] = *offset;
         }
         node_call call{*flags, options};
         auto answer = call("POST", "/admin/kafka/dlq/replay", json::serialize(body));
         if (!answer)
           return call.status;
         if (flags->json)
           std::cout << call.raw << '\n';
         else
           std::cout << "replayed " << field(answer->as_object(), "replayed")
                     << " record(s) to their source topic\n";
         return 0;
       }});
}

} // namespace

std::vector<command> register_admin_commands(CLI::App& app,
                                             std::shared_ptr<connection_flags> flags) {
  std::vector<command> out;
  auto* sub = app.add_subcommand("cluster", "Show the cluster's nodes: status, heartbeat, grains");
  out.push_back({sub, show_get(
                          flags, [] { return std::string{"/admin/cluster"}; }, show_cluster)});

  struct grains_flags {
    std::string type, node;
    int limit = 100;
  };
  auto gf = std::make_shared<grains_flags>();
  sub = app.add_subcommand("grains", "List active grains on every node");
  sub->add_option("--type", gf->type, "Only grains of this type (basket, order, ...)");
  sub->add_option("--node", gf->node, "Only grains on this node");
  sub->add_option("--limit", gf->limit, "At most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  out.push_back({sub, show_get(
                          flags,
                          [gf] {
                            std::string q = "/admin/grains?limit=" + std::to_string(gf->limit);
                            if (!gf->type.empty())
                              q += "&type=" + encode(gf->type);
                            if (!gf->node.empty())
                              q += "&node=" + encode(gf->node);
                            return q;
                          },
                          show_grains)});

  add_grain_commands(app, flags, out);

  sub = app.add_subcommand("kafka", "Show Kafka: consumer lag per group and partition, outbox "
                                    "backlog, dead letters");
  out.push_back({sub, show_get(
                          flags, [] { return std::string{"/admin/kafka"}; }, show_kafka)});

  add_dlq_commands(app, flags, out);

  auto stuck = std::make_shared<std::string>("30s");
  auto limit = std::make_shared<int>(100);
  sub = app.add_subcommand("sagas", "List checkout sagas that are not finished and have not moved "
                                    "for a while");
  sub->add_option("--stuck", *stuck, "Not moved for at least this long (500ms, 30s, 5m, 1h)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& t) -> std::string {
            return parse_duration_ms(t) ? "" : "\"" + t + "\" is not a duration like 30s";
          },
          "DURATION"));
  sub->add_option("--limit", *limit, "At most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  out.push_back({sub, show_get(
                          flags,
                          [stuck, limit] {
                            return "/admin/sagas?stuck_ms=" +
                                   std::to_string(*parse_duration_ms(*stuck)) +
                                   "&limit=" + std::to_string(*limit);
                          },
                          show_sagas)});

  auto aggregate = std::make_shared<std::string>();
  sub = app.add_subcommand("events", "Show an aggregate's event history (its journal)");
  sub->add_option("aggregate", *aggregate, "TYPE/ID, e.g. order/o-123")
      ->required()
      ->check(grain_argument());
  out.push_back({sub, show_get(
                          flags,
                          [aggregate] {
                            auto a = split(*aggregate);
                            return "/api/v1/admin/events/" + encode(a.type) + "/" + encode(a.key);
                          },
                          show_events)});
  return out;
}

} // namespace bazaar::ctl
