#include "bazaar/runtime/errors.hpp"

#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace bazaar::runtime {

caf::error to_error(const core::failure& f) {
  return caf::error(static_cast<std::uint8_t>(f.code), error_category,
                    caf::make_message(f.message, f.field));
}

caf::error make_failure(core::errc code, std::string message, std::string field) {
  return to_error(core::failure{code, std::move(message), std::move(field)});
}

core::failure to_failure(const caf::error& e) {
  using core::errc;
  if (!e)
    return core::failure{errc::internal, "no error", {}};
  if (e.category() == error_category) {
    core::failure f{static_cast<errc>(e.code()), {}, {}};
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string>()) {
      f.message = ctx.get_as<std::string>(0);
      f.field = ctx.get_as<std::string>(1);
    }
    return f;
  }
  if (e == caf::sec::request_timeout)
    return core::failure{errc::timeout, "the grain did not answer in time", {}};
  if (e == caf::sec::request_receiver_down || e.category() == caf::atom("exit"))
    return core::failure{errc::unavailable, "the grain is being moved; retry", {}};
  return core::failure{errc::internal, "internal error", {}};
}

bool is_receiver_down(const caf::error& e) {
  return e == caf::sec::request_receiver_down;
}

std::string render_error(std::uint8_t code, caf::atom_value, const caf::message& context) {
  std::string out{core::to_string(static_cast<core::errc>(code))};
  if (context.match_elements<std::string, std::string>()) {
    out += ": ";
    out += context.get_as<std::string>(0);
    if (!context.get_as<std::string>(1).empty())
      out += " (" + context.get_as<std::string>(1) + ")";
  }
  return out;
}

} // namespace bazaar::runtime
