#include "bazaar/gateway/json_writer.hpp"

#include "bazaar/core/json_text.hpp"

namespace bazaar::gateway {

namespace jt = core::json_text;

void append_json(std::string& out, const boost::json::value& v) {
  jt::append_value(out, v);
}

} // namespace bazaar::gateway
