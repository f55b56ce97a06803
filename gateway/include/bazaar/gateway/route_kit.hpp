#pragma once

/// The one way a route reads a request and calls a grain: the Idempotency-Key and the JSON
/// object body (each answered 400 when malformed), who asked (for the events a command
/// produces), and a call to a grain answered with its reply or its failure. Every resource's
/// routes file (products, basket, orders, and a grain type's own) is written with these.

#include "bazaar/domain/failure.hpp"
#include "bazaar/gateway/router.hpp"
#include "bazaar/runtime/command_meta.hpp"
#include "bazaar/runtime/errors.hpp"
#include "bazaar/runtime/grain_client.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace bazaar::gateway {

/// Calls grain `key` of type G and answers with `render(reply)` or the failure; 503 when
/// overloaded. A request answered before (same Idempotency-Key) gets its first reply again,
/// rendered the same way.
template <class G, class Msg, class Render>
void call(runtime::grain_client& grains, const responder_ptr& out, std::string key, Msg msg,
          Render render) {
  using reply_type = runtime::reply_t<typename G::interface, Msg>;
  bool admitted =
      grains.ask<G>(std::move(key), std::move(msg), [out, render](caf::expected<reply_type> reply) {
        if (reply)
          render(*reply);
        else
          out->fail(runtime::to_failure(reply.error()));
      });
  if (!admitted)
    out->fail(domain::failure{domain::errc::unavailable, "too many requests in flight", {}});
}

/// Parses the body as a JSON object, or answers 400 and returns nullopt.
std::optional<boost::json::object> object_body(const http_request& req, const responder_ptr& out);

/// Whether `sku` (named by the request as data) is a sku; if not, answers 422.
bool valid_sku(const std::string& sku, const responder_ptr& out);

/// Who asked, for the events a command produces.
runtime::command_meta meta_of(const http_request& req);

/// The request's Idempotency-Key, scoped to the caller; a malformed key answers 400.
std::optional<runtime::idempotency> idempotency_of(const http_request& req,
                                                   const responder_ptr& out);

/// What every mutating route with a JSON body reads first: the Idempotency-Key and the body.
struct mutation {
  runtime::idempotency idem;
  boost::json::object body;
};

/// The request's key and JSON object body, or nullopt once the request was answered 400.
std::optional<mutation> read_mutation(const http_request& req, const responder_ptr& out);

/// The Idempotency-Key of a mutation that needs no body (a body that is given must be a JSON
/// object, and is ignored), or nullopt once the request was answered 400.
std::optional<runtime::idempotency> bodiless_mutation(const http_request& req,
                                                      const responder_ptr& out);

} // namespace bazaar::gateway
