#include "bazaar/runtime/errors.hpp"

#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace bazaar::runtime {

caf::error to_error(const domain::failure& f) {
  return caf::error(static_cast<std::uint8_t>(f.code), error_category,
                    caf::make_message(f.message, f.field));
}

caf::error make_failure(domain::errc code, std::string message, std::string field) {
  return to_error(domain::failure{code, std::move(message), std::move(field)});
}

domain::failure to_failure(const caf::error& e) {
  using domain::errc;
  if (!e)
    return domain::failure{errc::internal, "no error", {}};
  if (e.category() == error_category) {
    domain::failure f{static_cast<errc>(e.code()), {}, {}};
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string>()) {
      f.message = ctx.get_as<std::string>(0);
      f.field = ctx.get_as<std::string>(1);
    }
    return f;
  }
  if (e == caf::sec::request_timeout)
    return domain::failure{errc::timeout, "the grain did not answer in time", {}};
  if (e == caf::sec::request_receiver_down || e.category() == caf::atom("exit"))
    return domain::failure{errc::unavailable, "the grain is being moved; retry", {}};
  return domain::failure{errc::internal, "internal error", {}};
}

caf::error make_replay(int status, std::string body) {
  return caf::error(std::uint8_t{1}, replay_category,
                    caf::make_message(static_cast<std::int32_t>(status), std::move(body)));
}

std::optional<std::pair<int, std::string>> as_replay(const caf::error& e) {
  if (!e || e.category() != replay_category)
    return std::nullopt;
  const auto& ctx = e.context();
  if (!ctx.match_elements<std::int32_t, std::string>())
    return std::nullopt;
  return std::make_pair(static_cast<int>(ctx.get_as<std::int32_t>(0)), ctx.get_as<std::string>(1));
}

bool is_receiver_down(const caf::error& e) {
  return e == caf::sec::request_receiver_down;
}

std::string render_error(std::uint8_t code, caf::atom_value, const caf::message& context) {
  std::string out{domain::to_string(static_cast<domain::errc>(code))};
  if (context.match_elements<std::string, std::string>()) {
    out += ": ";
    out += context.get_as<std::string>(0);
    if (!context.get_as<std::string>(1).empty())
      out += " (" + context.get_as<std::string>(1) + ")";
  }
  return out;
}

} // namespace bazaar::runtime
