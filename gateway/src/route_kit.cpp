#include "bazaar/gateway/route_kit.hpp"

#include "bazaar/domain/basket.hpp"
#include "bazaar/gateway/http_codec.hpp"

namespace bazaar::gateway {

namespace json = boost::json;
using domain::errc;

std::optional<json::object> object_body(const http_request& req, const responder_ptr& out) {
  auto parsed = parse_object(req.body);
  if (auto* bad = std::get_if<domain::failure>(&parsed)) {
    out->fail(*bad);
    return std::nullopt;
  }
  return std::get<json::object>(std::move(parsed));
}

bool valid_sku(const std::string& sku, const responder_ptr& out) {
  if (domain::is_identifier(sku))
    return true;
  out->fail(domain::validation_failed("sku", "sku must be 1..64 characters of [A-Za-z0-9._:-]"));
  return false;
}

runtime::command_meta meta_of(const http_request& req) {
  return runtime::command_meta{req.correlation_id, req.principal.subject};
}

std::optional<runtime::idempotency> idempotency_of(const http_request& req,
                                                   const responder_ptr& out) {
  runtime::idempotency idem;
  if (req.idempotency_key.empty())
    return idem;
  if (!domain::is_identifier(req.idempotency_key)) {
    out->fail(domain::failure{
        errc::bad_request, "Idempotency-Key must be 1..64 characters of [A-Za-z0-9._:-]", {}});
    return std::nullopt;
  }
  idem.scope = req.principal.subject;
  idem.key = req.idempotency_key;
  idem.fingerprint = domain::fingerprint(req.method + ' ' + req.path + '\n' + req.body);
  return idem;
}

std::optional<mutation> read_mutation(const http_request& req, const responder_ptr& out) {
  auto idem = idempotency_of(req, out);
  if (!idem)
    return std::nullopt;
  auto body = object_body(req, out);
  if (!body)
    return std::nullopt;
  return mutation{std::move(*idem), std::move(*body)};
}

std::optional<runtime::idempotency> bodiless_mutation(const http_request& req,
                                                      const responder_ptr& out) {
  auto idem = idempotency_of(req, out);
  if (!idem || (!req.body.empty() && !object_body(req, out)))
    return std::nullopt;
  return idem;
}

} // namespace bazaar::gateway
