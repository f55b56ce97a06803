#include "bazaar/gateway/http_server.hpp"

#include "bazaar/core/json_text.hpp"
#include "bazaar/gateway/event_stream.hpp"

#include "bazaar/gateway/http_codec.hpp"
#include "bazaar/gateway/http_metrics.hpp"
#include "bazaar/gateway/json_writer.hpp"
#include "bazaar/gateway/token_cache.hpp"
#include "bazaar/runtime/logging.hpp"

#include "peer_state.hpp"

#include <boost/json.hpp>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <random>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <thread>
#include <unordered_map>

namespace bazaar::gateway {

namespace Http = Pistache::Http;
using domain::errc;

// -- request helpers -------------------------------------------------------------------------

std::string http_request::query_or(const std::string& name, std::string fallback) const {
  auto i = query.find(name);
  return i == query.end() ? std::move(fallback) : i->second;
}

namespace {

/// A query string name or value decoded: `%XY` to its byte, `+` to a space (Pistache hands
/// them over as they came); a `%` not followed by two hex digits stays as it is.
std::string query_decode(const std::string& text) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
               hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string new_correlation_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id(16, '0');
  auto bits = rng();
  for (auto& c : id) {
    c = hex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

/// A client's X-Correlation-Id is taken when it is 1..128 visible ASCII characters (it goes
/// into answers, events and log lines as it is); otherwise the node makes one.
bool usable_correlation_id(const std::string& id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (c <= ' ' || c > '~')
      return false;
  return true;
}

/// Appends `name: value` and CRLF, leaving out any CR or LF that would split the header.
void append_header(std::string& out, std::string_view name, std::string_view value) {
  auto clean = [&out](std::string_view text) {
    for (char c : text)
      if (c != '\r' && c != '\n')
        out += c;
  };
  clean(name);
  out += ": ";
  clean(value);
  out += "\r\n";
}

/// A buffer of the calling thread for building answers, emptied. What a large answer made it
/// grow to is given back when the next one starts.
std::string& scratch(std::string& buffer) {
  constexpr std::size_t keep = 64 * 1024;
  if (buffer.capacity() > keep)
    std::string{}.swap(buffer);
  buffer.clear();
  return buffer;
}

} // namespace

// -- responder -------------------------------------------------------------------------------

namespace {

/// The calling thread's buffers for an answer's head and body.
thread_local std::string head_buffer;
thread_local std::string body_buffer;

} // namespace

responder::responder(std::shared_ptr<peer_state> conn, Http::Version version,
                     std::string correlation_id, bool keep_alive)
    : conn_(std::move(conn)), version_(version), correlation_id_(std::move(correlation_id)),
      keep_alive_(keep_alive) {
  conn_->exchanges->begin();
  conn_->unanswered.fetch_add(1);
}

responder::~responder() {
  if (!answered_.load())
    fail(domain::failure{errc::internal, "the request was not answered", {}});
}

void responder::header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
}

bool responder::claim() {
  return !answered_.exchange(true);
}

std::string& responder::body_scratch() {
  return scratch(body_buffer);
}

void responder::json(int status, const boost::json::value& body) {
  json_with(status, [&body](std::string& out) { append_json(out, body); });
}

void responder::fail(const domain::failure& f) {
  if (!claim())
    return;
  if (f.code == errc::unavailable)
    header("Retry-After", "1");
  if (f.code == errc::unauthorized)
    header("WWW-Authenticate", "Bearer");
  finish(http_status(f.code), error_body(f), false);
}

void responder::refuse(http_refusal r, const std::string& message) {
  if (claim())
    finish(http_status(r), error_body(r, message), r == http_refusal::payload_too_large);
}

void responder::send(int status, std::string_view body, bool close) {
  if (claim())
    finish(status, body, close);
}

void responder::text(int status, std::string_view body, std::string_view content_type) {
  if (claim())
    finish(status, body, false, content_type);
}

void responder::finish(int status, std::string_view body, bool close,
                       std::string_view content_type) {
  close = close || !keep_alive_;
  // The answer as Pistache's ResponseWriter would write it.
  auto& head = scratch(head_buffer);
  head += Http::versionString(version_);
  head += ' ';
  core::json_text::append_int(head, status);
  head += ' ';
  head += Http::codeString(static_cast<Http::Code>(status));
  head += "\r\nContent-Type: ";
  head += content_type;
  head += close ? "\r\nConnection: Close\r\n" : "\r\nConnection: Keep-Alive\r\n";
  append_header(head, "X-Correlation-Id", correlation_id_);
  for (const auto& [name, value] : headers_)
    append_header(head, name, value);
  head += "Content-Length: ";
  core::json_text::append_uint(head, body.size());
  head += "\r\n\r\n";
  auto now = conn_->now_ns();
  conn_->active_ns = now;
  // Counted before it is written: a client that saw the answer sees it counted.
  if (meter_ != nullptr)
    meter_->record(status, static_cast<double>(now - started_ns_) * 1e-9);
  conn_->write(head, body, close);
  conn_->unanswered.fetch_sub(1);
  conn_->exchanges->answered();
}

std::shared_ptr<event_stream> responder::stream() {
  if (!claim())
    return nullptr;
  auto& head = scratch(head_buffer);
  head += Http::versionString(version_);
  head += " 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
          "Connection: Close\r\n";
  append_header(head, "X-Correlation-Id", correlation_id_);
  for (const auto& [name, value] : headers_)
    append_header(head, name, value);
  head += "\r\n";
  // The connection carries this stream only: later input is ignored, and neither the request
  // nor the keep-alive timeout applies to it.
  conn_->partial_since_ns = -1;
  auto now = conn_->now_ns();
  conn_->active_ns = now;
  if (meter_ != nullptr)
    meter_->record(200, static_cast<double>(now - started_ns_) * 1e-9);
  auto s = std::make_shared<event_stream>(conn_, conn_->streams);
  conn_->write(head, {}, false, event_stream::max_unsent_bytes);
  conn_->unanswered.fetch_sub(1);
  conn_->exchanges->answered();
  s->start();
  return s;
}

// -- the Pistache handler --------------------------------------------------------------------

struct server_core {
  config::http_options http;
  config::auth_options auth;
  std::shared_ptr<router> routes;
  /// Counts and times requests; null: not measured.
  http_metrics* metrics = nullptr;
  /// The time every timing decision is made on (timeouts, token expiry).
  const runtime::clock* clock = nullptr;
  /// Bearer tokens verified with auth.jwt_secret, remembered until their exp.
  std::unique_ptr<auth::token_cache> tokens;
  std::shared_ptr<exchange_count> exchanges = std::make_shared<exchange_count>();
  std::shared_ptr<stream_registry> streams = std::make_shared<stream_registry>();
  std::atomic<bool> accepting{true};
  std::mutex peers_mtx;
  std::unordered_map<const Pistache::Tcp::Peer*, std::shared_ptr<peer_state>> peers;
};

namespace {

/// Answers a request that cannot be served (malformed, too large, too slow) with the API error
/// body, and closes the connection once that answer is written.
void answer_and_close(std::shared_ptr<peer_state> conn, errc code, std::string message) {
  responder out{std::move(conn), Http::Version::Http11, new_correlation_id(), false};
  out.fail(domain::failure{code, std::move(message), {}});
}

/// The same for what the HTTP layer refuses itself (a request too large to read).
void refuse_and_close(std::shared_ptr<peer_state> conn, http_refusal r,
                      const std::string& message) {
  responder out{std::move(conn), Http::Version::Http11, new_correlation_id(), false};
  out.refuse(r, message);
}

} // namespace

namespace {

bool keep_alive_of(const Http::Request& req) {
  auto connection = req.headers().tryGet<Http::Header::Connection>();
  if (connection)
    return connection->control() != Http::ConnectionControl::Close;
  return req.version() == Http::Version::Http11;
}

/// A Content-Length header in `chunk` whose value is not a plain decimal number. (Pistache
/// reads "12abc" as 12 and "abc" as 0, and then takes the rest for the next request.)
bool bad_content_length(std::string_view chunk) {
  static constexpr std::string_view name = "content-length:";
  // Only the starts of lines can hold it.
  for (auto nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n', nl + 1)) {
    auto i = nl + 1;
    if (chunk.size() - i < name.size() ||
        strncasecmp(chunk.data() + i, name.data(), name.size()) != 0)
      continue;
    auto j = i + name.size();
    while (j < chunk.size() && (chunk[j] == ' ' || chunk[j] == '\t'))
      ++j;
    std::size_t digits = 0;
    while (j < chunk.size() && chunk[j] >= '0' && chunk[j] <= '9') {
      ++j;
      ++digits;
    }
    while (j < chunk.size() && (chunk[j] == ' ' || chunk[j] == '\t'))
      ++j;
    return digits == 0 || digits > 18 || j >= chunk.size() || chunk[j] != '\r';
  }
  return false;
}

/// How many verified bearer tokens the server remembers (a few hundred bytes each).
constexpr std::size_t token_cache_capacity = 4096;

/// Verifies the bearer token of a request (or finds it verified before, while its exp has not
/// come) against the route's access rule.
std::optional<domain::failure> authorize(const server_core& core, const Http::Request& req,
                                         access who, auth::claims& principal) {
  auto header = req.headers().tryGet<Http::Header::Authorization>();
  if (!header)
    return domain::failure{errc::unauthorized, "a bearer token is required", {}};
  auto value = header->value();
  static const std::string scheme = "Bearer ";
  // The scheme name is case-insensitive (RFC 9110 11.1).
  if (value.size() <= scheme.size() ||
      strncasecmp(value.c_str(), scheme.c_str(), scheme.size()) != 0)
    return domain::failure{
        errc::unauthorized, "the Authorization header must be 'Bearer <token>'", {}};
  auto verified = core.tokens->verify(std::string_view{value}.substr(scheme.size()));
  if (auto* bad = std::get_if<auth::verify_error>(&verified))
    return domain::failure{errc::unauthorized,
                           "the token is not valid (" + std::string(auth::to_string(*bad)) + ")",
                           {}};
  principal = std::get<auth::claims>(std::move(verified));
  if (who == access::admin && principal.user_role != auth::role::admin)
    return domain::failure{errc::forbidden, "this route needs an admin token", {}};
  return std::nullopt;
}

bool is_json_media_type(const std::string& content_type) {
  auto semi = content_type.find(';');
  std::string type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  for (auto& c : type)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/json";
}

class pistache_handler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(pistache_handler)

  explicit pistache_handler(std::shared_ptr<server_core> core) : core_(std::move(core)) {}

  /// Pistache's entry point; this server's onInput calls serve() directly.
  void onRequest(const Http::Request& req, Http::ResponseWriter writer) override {
    serve(req, conn_of(writer));
  }

  void serve(const Http::Request& req, std::shared_ptr<peer_state> conn) {
    auto* metrics = core_->metrics;
    auto started = metrics != nullptr ? conn->now_ns() : 0;
    http_request r;
    static const std::string correlation_header = "X-Correlation-Id";
    static const std::string idempotency_header = "Idempotency-Key";
    auto cid = req.headers().tryGetRaw(correlation_header);
    r.correlation_id =
        cid && usable_correlation_id(cid->value()) ? cid->value() : new_correlation_id();
    // This request's log lines carry its correlation id (the grains' lines carry it too).
    runtime::log_scope logged{runtime::log_context{r.correlation_id, {}, {}, {}}};
    auto out = std::make_shared<responder>(std::move(conn), req.version(), r.correlation_id,
                                           keep_alive_of(req));
    if (!core_->accepting.load()) {
      if (metrics != nullptr)
        out->measure(&metrics->unmatched(), started);
      out->fail(domain::failure{errc::unavailable, "the node is shutting down", {}});
      return;
    }
    r.method = Http::methodString(req.method());
    r.path = req.resource();
    spdlog::debug("HTTP {} {}", r.method, r.path);
    auto match = core_->routes->find(r.method, r.path, r.params);
    if (metrics != nullptr)
      out->measure(match.found ? match.found->meter : &metrics->unmatched(), started);
    if (!match.found) {
      if (match.method_mismatch) {
        out->header("Allow", match.allowed);
        out->refuse(http_refusal::method_not_allowed, "method not allowed; use " + match.allowed);
      } else {
        out->fail(domain::failure{errc::not_found, "no such route: " + r.path, {}});
      }
      return;
    }
    if (match.found->who != access::anyone) {
      if (auto denied = authorize(*core_, req, match.found->who, r.principal)) {
        out->fail(*denied);
        return;
      }
    }
    r.body = req.body();
    if (r.body.size() > core_->http.max_body_bytes) {
      out->refuse(http_refusal::payload_too_large, "the body is larger than allowed");
      return;
    }
    if (auto ct = req.headers().tryGet<Http::Header::ContentType>())
      r.content_type = ct->mime().toString();
    if (!r.body.empty() && !is_json_media_type(r.content_type)) {
      out->refuse(http_refusal::unsupported_media_type, "request bodies must be application/json");
      return;
    }
    for (auto i = req.query().parameters_begin(); i != req.query().parameters_end(); ++i)
      r.query.emplace(query_decode(i->first), query_decode(i->second));
    if (auto key = req.headers().tryGetRaw(idempotency_header))
      r.idempotency_key = key->value();
    try {
      match.found->run(r, out);
    } catch (const std::exception& e) {
      spdlog::error("route {} {} threw: {}", r.method, r.path, e.what());
      out->fail(domain::failure{errc::internal, "internal error", {}});
    }
  }

  /// Headers or body that did not arrive in time: 400, connection closed.
  void onTimeout(const Http::Request&, Http::ResponseWriter writer) override {
    reject(conn_of(writer), errc::bad_request, "the request did not arrive in time");
  }

  /// Replaces Pistache's (private) one: creates the parser as it does, and starts tracking
  /// the connection (peer_state).
  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
    auto state = new_state(peer);
    peer->putData(peer_state_key, state);
    std::lock_guard<std::mutex> guard{core_->peers_mtx};
    core_->peers[peer.get()] = std::move(state);
  }

  /// Runs on the connection's I/O thread just before Pistache closes its fd.
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    if (auto state = std::static_pointer_cast<peer_state>(peer->tryGetData(peer_state_key)))
      state->mark_closed();
    // Answers queued for this connection are addressed to its fd number, which the next
    // connection accepted may get once Pistache closes it: write them out (or let them fail)
    // now, while the number is still this connection's.
    transport()->flush();
    std::lock_guard<std::mutex> guard{core_->peers_mtx};
    core_->peers.erase(peer.get());
  }

  /// Pistache's own onInput answers parser exceptions with their text as a 500 and keeps
  /// reading an oversized body as new requests; this one answers 400/413 with the API error
  /// body and closes the connection instead.
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    auto parser = getParser(peer);
    auto& request = parser->request;
    auto state = std::static_pointer_cast<peer_state>(peer->tryGetData(peer_state_key));
    if (!state) // every connection gets one in onConnection; this is only a safety net
      peer->putData(peer_state_key, state = new_state(peer));
    if (state->partial_since_ns.load() < 0)
      return; // timed out and answered, or idle too long: the connection is closing
    state->active_ns = state->now_ns();
    try {
      if (!parser->feed(buffer, len)) {
        parser->reset();
        refuse_and_close(state, http_refusal::payload_too_large,
                         "the request is larger than allowed");
        return;
      }
      if (parser->parse() == Http::Private::State::Done) {
        state->partial_since_ns = 0;
        if (bad_content_length(std::string_view{buffer, len})) {
          parser->reset();
          reject(state, errc::bad_request, "Content-Length must be a decimal number");
          return;
        }
        request.copyAddress(peer->address());
        peer->setIdle(false);
        serve(request, state);
        parser->reset();
      } else if (stuck_before_body(*parser, std::string_view{buffer, len})) {
        // The headers ended but the parser could not make sense of them: it would wait for
        // bytes that never come. Answer now instead of at the header timeout.
        parser->reset();
        reject(state, errc::bad_request, "malformed HTTP request");
      } else if (state->partial_since_ns.load() == 0) {
        state->partial_since_ns = state->now_ns(); // a request began and is not complete yet
      }
    } catch (const std::exception& e) {
      parser->reset();
      reject(state, errc::bad_request, "malformed HTTP request");
    }
  }

 private:
  static constexpr const char* peer_state_key = "bazaar.peer_state";

  static bool stuck_before_body(Http::RequestParser& parser, std::string_view chunk) {
    auto* step = parser.step();
    if (step == nullptr || chunk.find("\r\n\r\n") == std::string_view::npos)
      return false;
    return step->id() == Http::Private::RequestLineStep::Id ||
           step->id() == Http::Private::HeadersStep::Id;
  }

  std::shared_ptr<peer_state> new_state(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
    auto state = std::make_shared<peer_state>(*core_->clock, core_->exchanges);
    state->streams = core_->streams;
    state->transport = transport();
    state->fd = peer->fd();
    state->active_ns = state->now_ns();
    return state;
  }

  /// The state of the connection a writer answers on (a closed one if the peer is gone).
  std::shared_ptr<peer_state> conn_of(Http::ResponseWriter& writer) {
    auto peer = writer.getPeer();
    if (!peer) {
      auto gone = std::make_shared<peer_state>(*core_->clock, core_->exchanges);
      gone->mark_closed();
      return gone;
    }
    auto state = std::static_pointer_cast<peer_state>(peer->tryGetData(peer_state_key));
    if (!state)
      peer->putData(peer_state_key, state = new_state(peer));
    return state;
  }

  void reject(std::shared_ptr<peer_state> conn, errc code, std::string message) {
    answer_and_close(std::move(conn), code, std::move(message));
  }

  std::shared_ptr<server_core> core_;
};

} // namespace

// -- http_server -----------------------------------------------------------------------------

http_server::http_server(const config::http_options& http, const config::auth_options& auth,
                         std::shared_ptr<router> routes, const runtime::clock& clock,
                         http_metrics* metrics)
    : core_(std::make_shared<server_core>()) {
  core_->http = http;
  core_->auth = auth;
  core_->routes = std::move(routes);
  core_->clock = &clock;
  core_->metrics = metrics;
  if (metrics != nullptr)
    core_->routes->each([metrics](route& r) { r.meter = &metrics->meter(r.method, r.pattern()); });
  // Token expiry in whole seconds of the clock's wall time.
  core_->tokens =
      std::make_unique<auth::token_cache>(auth.jwt_secret, token_cache_capacity, [&clock] {
        auto ms = clock.wall_ms();
        return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
      });
}

http_server::~http_server() {
  stop();
}

/// Answers requests that did not arrive within http.header_timeout_ms with 400 and closes
/// their connections: the first request on a connection or any later one, headers or body.
/// Closes kept-alive connections that had no request for http.keepalive_timeout_ms.
void http_server::sweep() {
  auto ns = [](int ms) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::milliseconds{ms})
        .count();
  };
  auto limit = ns(core_->http.header_timeout_ms);
  auto keepalive = ns(core_->http.keepalive_timeout_ms);
  std::vector<std::shared_ptr<peer_state>> late;
  std::vector<std::shared_ptr<peer_state>> idle;
  {
    std::lock_guard<std::mutex> guard{core_->peers_mtx};
    auto now = steady_ns(*core_->clock);
    for (auto& [key, state] : core_->peers) {
      auto since = state->partial_since_ns.load();
      if (since > 0 && now - since > limit &&
          state->partial_since_ns.compare_exchange_strong(since, -1))
        late.push_back(state);
      else if (since == 0 && state->unanswered.load() == 0 &&
               now - state->active_ns.load() > keepalive &&
               state->partial_since_ns.compare_exchange_strong(since, -1))
        idle.push_back(state);
    }
  }
  for (auto& state : late)
    answer_and_close(state, errc::bad_request, "the request did not arrive in time");
  for (auto& state : idle)
    state->shut();
  core_->streams->keep_alive(steady_ns(*core_->clock), ns(core_->http.sse_keepalive_ms));
}

void http_server::start() {
  constexpr auto pistache_never = std::chrono::hours{24 * 365 * 10};
  Pistache::Address addr(core_->http.host, Pistache::Port(core_->http.port));
  endpoint_ = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(core_->http.threads)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(core_->http.max_body_bytes + 16 * 1024)
                  .maxResponseSize(16 * 1024 * 1024)
                  // The server times requests out and closes idle connections itself (sweep).
                  // Pistache's own timeouts answer a body-less 408, miss requests stuck in their
                  // body, and close fds without onDisconnection (which peer_state relies on), so
                  // they are pushed out of reach.
                  .headerTimeout(pistache_never)
                  .bodyTimeout(pistache_never)
                  .keepaliveTimeout(pistache_never);
  endpoint_->init(opts);
  endpoint_->setHandler(Http::make_handler<pistache_handler>(core_));
  endpoint_->serveThreaded();
  running_ = true;
  sweeper_ = std::thread([this] {
    auto tick = std::chrono::milliseconds{std::clamp(core_->http.header_timeout_ms / 10, 10, 250)};
    std::unique_lock<std::mutex> lock{sweep_mtx_};
    while (!sweep_cv_.wait_for(lock, tick, [this] { return !running_; }))
      sweep();
  });
}

std::uint16_t http_server::port() const {
  return endpoint_ ? static_cast<std::uint16_t>(endpoint_->getPort()) : 0;
}

bool http_server::drain(std::chrono::milliseconds grace) {
  core_->accepting = false;
  // Event streams end here: what they sent is written, then their connections close.
  core_->streams->close_all();
  // The grace is real time whatever the clock: it bounds how long a shutdown blocks.
  if (core_->exchanges->wait_idle(std::chrono::steady_clock::now() + grace))
    return true;
  spdlog::warn("drain: after {} ms, {} requests are still unanswered and {} answers unwritten",
               grace.count(), core_->exchanges->unanswered.load(),
               core_->exchanges->unwritten.load());
  return false;
}

void http_server::stop() {
  {
    std::lock_guard<std::mutex> guard{sweep_mtx_};
    if (!running_)
      return;
    running_ = false;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable())
    sweeper_.join();
  endpoint_->shutdown();
}

bool http_server::accepting() const {
  return core_->accepting.load();
}

int http_server::inflight() const {
  return core_->exchanges->unanswered.load();
}

std::size_t http_server::streams() const {
  return core_->streams->size();
}

} // namespace bazaar::gateway
