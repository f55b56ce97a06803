// The shop's events are named once (bazaar/domain/events.hpp): the configuration's topics and
// routes, the read side's projections and docs/API.md's table agree with that table.

#include "bazaar/config/loader.hpp"
#include "bazaar/domain/events.hpp"
#include "bazaar/persistence/projections.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace bazaar;
namespace events = domain::events;

namespace {

/// The cells of a Markdown table row (`| a | b |` -> {"a", "b"}), trimmed.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool code = false;
  for (std::size_t i = 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == '`')
      code = !code;
    if (c == '|' && !code) {
      auto b = cell.find_first_not_of(' ');
      auto e = cell.find_last_not_of(' ');
      out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += c;
    }
  }
  return out;
}

std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '`' && s.back() == '`' ? s.substr(1, s.size() - 2) : s;
}

} // namespace

TEST_CASE("every event is named once, by one producer, with a topic Kafka accepts or none") {
  std::set<std::string> names;
  const std::set<std::string> producers{"basket", "inventory", "order", "checkout", "payment"};
  for (const auto& e : events::all) {
    INFO(e.name);
    CHECK(names.insert(e.name).second);
    CHECK(producers.count(e.producer) == 1);
    CHECK(events::find(e.name) == &e);
    for (const char* c = e.topic; *c != 0; ++c)
      CHECK((std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '.'));
  }
  CHECK(events::find("no-such-event") == nullptr);
}

TEST_CASE("the configuration's default topics are the events table's") {
  auto topics = config::topic_map(config::kafka_options{});
  for (const auto& e : events::all) {
    INFO(e.name);
    if (*e.topic == 0) {
      CHECK(topics.count(e.name) == 0); // journaled only: nothing to configure
    } else {
      REQUIRE(topics.count(e.name) == 1);
      CHECK(topics.at(e.name) == e.topic);
    }
  }
  for (const auto& [name, topic] : topics) {
    INFO(name);
    CHECK(events::find(name) != nullptr);
  }
}

TEST_CASE("the bridge's default routes and the projections consume events of the table that "
          "are published") {
  for (const auto& [name, route] : config::kafka_options{}.routes) {
    INFO("route " << name);
    const auto* e = events::find(name);
    REQUIRE(e != nullptr);
    CHECK(*e->topic != 0);
    CHECK(route.grain_type != e->producer); // a grain does not consume what it writes
  }
  for (const auto& p : persistence::projections()) {
    for (const auto& type : p.event_types) {
      INFO("projection " << p.name << ", event " << type);
      const auto* e = events::find(type);
      REQUIRE(e != nullptr);
      CHECK(*e->topic != 0);
    }
  }
}

TEST_CASE("docs/API.md's table of events lists the events table, in its order") {
  std::ifstream in{"docs/API.md"}; // the tests run in the source tree
  REQUIRE(in.good());
  std::vector<std::tuple<std::string, std::string, std::string>> documented;
  bool in_events = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0)
      in_events = line == "## Events";
    if (!in_events || line.rfind("| `", 0) != 0)
      continue;
    auto row = cells(line);
    REQUIRE(row.size() == 4);
    auto topic = row[3] == "(journaled only)" ? std::string{} : unquote(row[3]);
    documented.emplace_back(unquote(row[0]), row[1], topic);
  }
  std::vector<std::tuple<std::string, std::string, std::string>> table;
  for (const auto& e : events::all)
    table.emplace_back(e.name, e.producer, e.topic);
  CHECK(documented == table);
}
