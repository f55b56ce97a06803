/// Every message and answer type of every shop grain, and the runtime's own message types,
/// survive the trip a remote call makes: a fully populated value is put in a CAF message,
/// serialized with CAF's binary serializer (as the middleman does between nodes), read back
/// by an actor system that registered the types as a node does, and compared field by field.
///
/// The fields are found with Boost.PFR from the type itself, not from its description, so a
/// field added to a type and left out of its description (BAZAAR_DESCRIBE, from which its
/// `inspect` is derived) fails here (it arrives with its default value), and so does a message
/// type that is not registered (it arrives empty).

#include "bazaar/actors/registry.hpp"
#include "bazaar/runtime/grain_id.hpp"
#include "support/gadget.hpp"

#include <boost/pfr.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace bazaar;

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};

/// Gives every field of a value a value of its own that differs from the field's default: each
/// number, string and enum is distinct, each flag is flipped, each container holds one filled
/// element, each optional is engaged.
class filler {
 public:
  template <class T>
  void fill(T& x) {
    if constexpr (std::is_same_v<T, bool>) {
      x = !x;
    } else if constexpr (std::is_enum_v<T>) {
      using U = std::underlying_type_t<T>;
      x = static_cast<T>(static_cast<U>(static_cast<U>(x) + 1));
    } else if constexpr (std::is_integral_v<T>) {
      x = static_cast<T>(x + static_cast<T>(next() % 100 + 1));
    } else if constexpr (std::is_floating_point_v<T>) {
      x = x + static_cast<T>(next()) + T(0.5);
    } else if constexpr (std::is_same_v<T, std::string>) {
      x += "v" + std::to_string(next());
    } else if constexpr (is_vector<T>::value) {
      x.emplace_back();
      fill(x.back());
    } else if constexpr (is_optional<T>::value) {
      x.emplace();
      fill(*x);
    } else if constexpr (is_map<T>::value) {
      typename T::key_type k{};
      fill(k);
      fill(x[k]);
    } else {
      static_assert(std::is_aggregate_v<T>,
                    "a message field of a type this test does not know: teach filler and same()");
      boost::pfr::for_each_field(x, [this](auto& field) { fill(field); });
    }
  }

 private:
  int next() { return ++counter_; }
  int counter_ = 0;
};

/// The field of `b` at position `index`, of the same type as `hint` (for first_difference).
template <class T, class F>
const F* field_at(const T& b, std::size_t index, const F*) {
  const F* found = nullptr;
  std::size_t i = 0;
  boost::pfr::for_each_field(b, [&](const auto& field) {
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, F>) {
      if (i == index)
        found = &field;
    }
    ++i;
  });
  return found;
}

/// Where `a` and `b` first differ, as a path of field positions ("" when they are equal).
template <class T>
std::string first_difference(const T& a, const T& b, const std::string& path) {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string>) {
    return a == b ? std::string{} : path;
  } else if constexpr (is_vector<T>::value) {
    if (a.size() != b.size())
      return path + " (size " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")";
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto d = first_difference(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty())
        return d;
    return {};
  } else if constexpr (is_optional<T>::value) {
    if (a.has_value() != b.has_value())
      return path + " (engaged vs not)";
    return a ? first_difference(*a, *b, path) : std::string{};
  } else if constexpr (is_map<T>::value) {
    if (a.size() != b.size())
      return path + " (size)";
    for (const auto& [k, v] : a) {
      auto found = b.find(k);
      if (found == b.end())
        return path + " (a key is missing)";
      if (auto d = first_difference(v, found->second, path + "[]"); !d.empty())
        return d;
    }
    return {};
  } else {
    std::string out;
    std::size_t i = 0;
    boost::pfr::for_each_field(a, [&](const auto& field) {
      const auto& other = *field_at(b, i, &field);
      if (out.empty())
        out = first_difference(field, other, path + ".field" + std::to_string(i));
      ++i;
    });
    return out;
  }
}

/// The node's CAF configuration: the shop's and the cluster's message types.
struct node_config : caf::actor_system_config {
  node_config() {
    actors::register_types(*this);
    add_message_type<runtime::grain_id>("bazaar.grain_id");
    add_message_type<domain::gadget>(runtime::inspect_name<domain::gadget>());
    set("scheduler.max-threads", 1);
  }
};

/// Sends `sent` across the wire and back: the value as it arrives on another node.
template <class T>
T across_the_wire(caf::actor_system& sys, const T& sent) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto out = caf::make_message(sent);
  auto err = sink(out);
  INFO("serializing: " << sys.render(err));
  REQUIRE(!err);
  caf::binary_deserializer source{sys, buf};
  caf::message in;
  err = source(in);
  INFO("deserializing: " << sys.render(err));
  REQUIRE(!err);
  INFO("the message arrived empty or as another type: is the type registered?");
  REQUIRE(in.match_elements<T>());
  return in.get_as<T>(0);
}

/// Checks one type: a default value and a fully populated one survive the trip unchanged.
template <class T>
void check_type(caf::actor_system& sys, std::vector<std::string>& checked) {
  if constexpr (caf::type_nr<T>::value != 0 || caf::is_atom_constant<T>::value) {
    return; // CAF's builtin types (bool, strings, atoms) are CAF's business
  } else {
    const auto name = runtime::inspect_name<T>();
    for (bool populated : {false, true}) {
      T sent{};
      if (populated)
        filler{}.fill(sent);
      const T got = across_the_wire(sys, sent);
      const auto where = first_difference(sent, got, name);
      INFO(name << (populated ? " (fully populated)" : " (default)")
                << ": field differs after the trip: " << where
                << " (positions count from 0 in declaration order; is it in the type's inspect?)");
      CHECK(where.empty());
    }
    checked.push_back(name);
  }
}

template <class In, class Out>
void check_signature(caf::actor_system& sys, std::vector<std::string>& checked,
                     caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out>>) {
  check_type<In>(sys, checked);
  if constexpr (!std::is_void_v<Out>)
    check_type<Out>(sys, checked);
}

template <class... Sigs>
void check_signatures(caf::actor_system& sys, std::vector<std::string>& checked,
                      caf::detail::type_list<Sigs...>) {
  (check_signature(sys, checked, Sigs{}), ...);
}

template <class... Gs>
void check_grains(caf::actor_system& sys, std::vector<std::string>& checked,
                  const std::tuple<Gs...>*) {
  (check_signatures(sys, checked, typename Gs::interface::signatures{}), ...);
}

using shop_grain_types = decltype(actors::shop_grains(std::declval<const config::node_options&>()));

} // namespace

TEST_CASE("every message and answer of every shop grain survives a remote call field by field",
          "[wire]") {
  node_config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::string> checked;
  check_grains(sys, checked, static_cast<const shop_grain_types*>(nullptr));
  check_type<runtime::grain_id>(sys, checked);
  // Every grain type's state is among them (what a read through another node answers).
  for (const char* state :
       {"bazaar.basket", "bazaar.order", "bazaar.product", "bazaar.checkout", "bazaar.payment"})
    CHECK(std::find(checked.begin(), checked.end(), state) != checked.end());
  CHECK(checked.size() >= 30);
}

TEST_CASE("the field comparison finds a field that differs", "[wire]") {
  // The check above is only as good as first_difference: it must see a change in any field.
  domain::order a{};
  filler{}.fill(a);
  auto b = a;
  CHECK(first_difference(a, b, "order").empty());
  b.tracking_number.clear();
  CHECK(first_difference(a, b, "order") == "order.field12");
  b = a;
  b.timeline.at(0).at += 1;
  CHECK(first_difference(a, b, "order") == "order.field9[0].field1");
}

TEST_CASE("a type described once travels with every field, under its described name", "[wire]") {
  node_config cfg;
  caf::actor_system sys{cfg};
  CHECK(runtime::inspect_name<domain::gadget>() == "bazaar.gadget");
  std::vector<std::string> checked;
  check_type<domain::gadget>(sys, checked);
  domain::gadget g{"g-1", domain::gadget_kind::large, {"a"}, std::nullopt, {{"x", 1}}, {}, 2};
  auto got = across_the_wire(sys, g);
  CHECK_FALSE(got.weight); // an empty optional stays empty
  CHECK(got.kind == domain::gadget_kind::large);
  CHECK(got.counts == g.counts);
}
