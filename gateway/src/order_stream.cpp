#include "bazaar/gateway/order_stream.hpp"

#include "bazaar/actors/order_grain.hpp"
#include "bazaar/core/json_text.hpp"
#include "bazaar/gateway/event_stream.hpp"
#include "bazaar/runtime/errors.hpp"

#include <memory>
#include <mutex>
#include <optional>

namespace bazaar::gateway {

void order_status_feed::add(std::vector<std::string>& out, const domain::order& o,
                            domain::order_status status, domain::timestamp_ms at) {
  std::string data = "{\"order_id\":";
  core::json_text::append_string(data, o.order_id);
  data += ",\"status\":";
  core::json_text::append_string(data, domain::to_string(status));
  data += ",\"at\":";
  core::json_text::append_string(data, domain::format_rfc3339(at));
  if (status == domain::order_status::cancelled && !o.cancel_reason.empty()) {
    data += ",\"reason\":";
    core::json_text::append_string(data, o.cancel_reason);
  }
  data += ",\"version\":";
  core::json_text::append_uint(data, o.version);
  data += '}';
  out.push_back(std::move(data));
  last_ = status;
  finished_ = domain::is_terminal(status);
}

std::vector<std::string> order_status_feed::next(const domain::order& o) {
  std::vector<std::string> out;
  if (finished_ || (started_ && o.version <= version_))
    return out;
  // When the status entered: its timeline entry (the last one, for the current status).
  auto at_of_current = [&o] {
    return !o.timeline.empty() && o.timeline.back().status == o.status ? o.timeline.back().at
                                                                       : domain::timestamp_ms{0};
  };
  if (!started_) {
    started_ = true;
    add(out, o, o.status, at_of_current());
  } else if (o.timeline.size() > seen_) {
    for (auto i = seen_; i < o.timeline.size() && !finished_; ++i)
      add(out, o, o.timeline[i].status, o.timeline[i].at);
  } else if (o.status != last_) {
    add(out, o, o.status, at_of_current()); // a status the timeline does not show
  }
  seen_ = o.timeline.size();
  version_ = o.version;
  return out;
}

namespace {

/// One client's stream of one order. Its callbacks run on the observation's actor (one at a
/// time); cancel() runs on whatever thread ends the stream.
class order_stream_session : public std::enable_shared_from_this<order_stream_session> {
 public:
  order_stream_session(responder_ptr out, std::string order_id, bool admin, std::string who)
      : out_(std::move(out)), order_id_(std::move(order_id)), admin_(admin), who_(std::move(who)) {}

  /// A state of the order; false ends the observation.
  bool on_state(const domain::order& o) {
    if (!stream_) {
      // A customer never learns that another customer's order exists.
      if (!o.exists || (!admin_ && o.customer_id != who_)) {
        out_->fail(domain::not_found("no order " + order_id_));
        out_.reset();
        return false;
      }
      stream_ = out_->stream();
      out_.reset();
      if (!stream_)
        return false;
      std::weak_ptr<order_stream_session> weak = shared_from_this();
      stream_->on_close([weak] {
        if (auto self = weak.lock())
          self->cancel();
      });
    }
    for (const auto& data : feed_.next(o))
      if (!stream_->send("status", data))
        return false;
    if (feed_.finished()) {
      stream_->close();
      return false;
    }
    return !stream_->closed();
  }

  /// The order cannot be observed (any more): the stream ends, or the request fails.
  void on_end(const caf::error& e) {
    if (stream_)
      stream_->close();
    else if (out_)
      out_->fail(runtime::to_failure(e));
    out_.reset();
  }

  void attach(runtime::observation obs) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (cancelled_)
      obs.cancel();
    else
      obs_ = std::move(obs);
  }

  /// The stream ended (client gone, drained): stop observing.
  void cancel() {
    std::lock_guard<std::mutex> guard{mtx_};
    cancelled_ = true;
    if (obs_)
      obs_->cancel();
  }

 private:
  responder_ptr out_; ///< until the stream starts
  event_stream_ptr stream_;
  order_status_feed feed_;
  const std::string order_id_;
  const bool admin_;
  const std::string who_;
  std::mutex mtx_;
  bool cancelled_ = false;
  std::optional<runtime::observation> obs_;
};

} // namespace

void add_order_stream_route(router& r, runtime::grain_client& grains) {
  r.add(
      "GET", "/api/v1/orders/{id}/events", access::customer,
      [&grains](http_request& req, const responder_ptr& out) {
        const auto& id = req.params[0];
        if (!domain::is_identifier(id))
          return out->fail(domain::not_found("no order " + id));
        auto session = std::make_shared<order_stream_session>(
            out, id, req.principal.user_role == auth::role::admin, req.principal.subject);
        auto obs = grains.observe<actors::order_grain>(
            id, [session](const domain::order& o) { return session->on_state(o); },
            [session](const caf::error& e) { session->on_end(e); });
        if (!obs)
          return out->fail(domain::failure{domain::errc::unavailable, "too many open streams", {}});
        session->attach(std::move(*obs));
      });
}

} // namespace bazaar::gateway
