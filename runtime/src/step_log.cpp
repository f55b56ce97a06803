#include "bazaar/runtime/step_log.hpp"

#include "bazaar/runtime/logging.hpp"

#include <boost/json.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace bazaar::runtime {

std::string describe_event(std::string_view event_type, const boost::json::object& data) {
  std::string out{event_type};
  bool open = false;
  for (const char* field : {"type", "status", "to", "reason"}) {
    const auto* v = data.if_contains(field);
    if (v == nullptr || !v->is_string() || v->get_string().empty())
      continue;
    out += open ? ", " : "(";
    open = true;
    out += field;
    out += '=';
    out.append(v->get_string().data(), v->get_string().size());
  }
  if (open)
    out += ')';
  return out;
}

std::string subject_in(const boost::json::object& data) {
  const auto& key = log_subject();
  if (key.empty())
    return {};
  const auto* v = data.if_contains(key);
  if (v == nullptr || !v->is_string())
    return {};
  return std::string(v->get_string());
}

std::string describe_envelope(std::string_view envelope, std::string& subject) {
  boost::system::error_code ec;
  auto v = boost::json::parse(envelope, ec);
  if (ec || !v.is_object())
    return "an unreadable event";
  const auto& o = v.get_object();
  const auto* type = o.if_contains("event_type");
  const auto* data = o.if_contains("data");
  std::string name = type != nullptr && type->is_string() ? std::string(type->get_string()) : "?";
  if (data == nullptr || !data->is_object())
    return name;
  if (subject.empty())
    subject = subject_in(data->get_object());
  return describe_event(name, data->get_object());
}

std::string type_name_of(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled{
      abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free};
  std::string name = status == 0 && demangled ? demangled.get() : t.name();
  auto colons = name.rfind("::");
  return colons == std::string::npos ? name : name.substr(colons + 2);
}

} // namespace bazaar::runtime
