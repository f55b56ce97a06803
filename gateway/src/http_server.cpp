#include "bazaar/gateway/http_server.hpp"

#include "bazaar/gateway/http_codec.hpp"

#include <boost/json.hpp>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <strings.h>
#include <sys/socket.h>
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

/// A response header whose name is chosen at run time (Pistache writes only typed headers).
class named_header final : public Http::Header::Header {
 public:
  named_header(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  std::uint64_t hash() const override {
    return std::hash<std::string>{}(name_);
  }
#endif

 private:
  std::string name_;
  std::string value_;
};

/// Closes a connection once what was queued on it is written.
void close_after(Pistache::Async::Promise<ssize_t>& written,
                 const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  written.then([peer](ssize_t) { ::shutdown(peer->fd(), SHUT_RDWR); },
               [peer](std::exception_ptr) { ::shutdown(peer->fd(), SHUT_RDWR); });
}

} // namespace

// -- responder -------------------------------------------------------------------------------

responder::responder(Http::ResponseWriter writer, std::string correlation_id, bool keep_alive,
                     inflight_counter inflight)
    : writer_(std::move(writer)), correlation_id_(std::move(correlation_id)),
      keep_alive_(keep_alive), inflight_(std::move(inflight)) {}

responder::~responder() {
  if (!answered_.load())
    fail(domain::failure{errc::internal, "the request was not answered", {}});
}

void responder::header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
}

void responder::json(int status, const boost::json::value& body) {
  send(status, boost::json::serialize(body));
}

void responder::fail(const domain::failure& f) {
  if (f.code == errc::unavailable)
    header("Retry-After", "1");
  if (f.code == errc::unauthorized)
    header("WWW-Authenticate", "Bearer");
  send(http_status(f.code), error_body(f), f.code == errc::payload_too_large);
}

void responder::send(int status, const std::string& body, bool close) {
  if (answered_.exchange(true))
    return;
  inflight_->fetch_sub(1, std::memory_order_acq_rel);
  // Hold the peer for the whole send: a client may disconnect meanwhile (LIBRARY-FACTS).
  auto peer = writer_.getPeer();
  if (!peer)
    return;
  close = close || !keep_alive_;
  auto& headers = writer_.headers();
  headers.remove<Http::Header::Connection>();
  headers.add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                              : Http::ConnectionControl::KeepAlive);
  headers.add(std::make_shared<named_header>("X-Correlation-Id", correlation_id_));
  for (auto& [name, value] : headers_)
    headers.add(std::make_shared<named_header>(name, value));
  auto written = writer_.send(static_cast<Http::Code>(status), body, MIME(Application, Json));
  if (close)
    close_after(written, peer);
}

// -- the Pistache handler --------------------------------------------------------------------

/// What the server tracks per connection, for its own request timeouts: when the request
/// now arriving began (0: none in progress, -1: already answered as timed out), and what is
/// needed to answer on the connection from the sweeper thread.
struct peer_state {
  std::atomic<std::int64_t> partial_since_ns{0};
  Pistache::Tcp::Transport* transport = nullptr;
  Http::Handler* handler = nullptr;
  std::weak_ptr<Pistache::Tcp::Peer> peer;
};

struct server_core {
  config::http_options http;
  config::auth_options auth;
  std::shared_ptr<router> routes;
  inflight_counter inflight = std::make_shared<std::atomic<int>>(0);
  std::atomic<bool> accepting{true};
  std::mutex peers_mtx;
  std::unordered_map<const Pistache::Tcp::Peer*, std::shared_ptr<peer_state>> peers;
};

namespace {

/// Answers a request that cannot be served (malformed, too large, too slow) with the API error
/// body, and closes the connection once that answer is written.
void answer_and_close(server_core& core, Http::ResponseWriter writer, errc code,
                      std::string message) {
  core.inflight->fetch_add(1, std::memory_order_acq_rel);
  responder out{std::move(writer), new_correlation_id(), false, core.inflight};
  out.fail(domain::failure{code, std::move(message), {}});
}

} // namespace

namespace {

bool keep_alive_of(const Http::Request& req) {
  auto connection = req.headers().tryGet<Http::Header::Connection>();
  if (connection)
    return connection->control() != Http::ConnectionControl::Close;
  return req.version() == Http::Version::Http11;
}

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// A Content-Length header in `chunk` whose value is not a plain decimal number. (Pistache
/// reads "12abc" as 12 and "abc" as 0, and then takes the rest for the next request.)
bool bad_content_length(std::string_view chunk) {
  static constexpr std::string_view name = "\ncontent-length:";
  for (std::size_t i = 0; i + name.size() <= chunk.size(); ++i) {
    if (strncasecmp(chunk.data() + i, name.data(), name.size()) != 0)
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

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Verifies the bearer token of a request against the route's access rule.
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
  auto verified = auth::verify(value.substr(scheme.size()), core.auth.jwt_secret, now_seconds());
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

  void onRequest(const Http::Request& req, Http::ResponseWriter writer) override {
    core_->inflight->fetch_add(1, std::memory_order_acq_rel);
    http_request r;
    auto cid = req.headers().tryGetRaw("X-Correlation-Id");
    r.correlation_id = cid && !cid->value().empty() && cid->value().size() <= 128
                           ? cid->value()
                           : new_correlation_id();
    auto out = std::make_shared<responder>(std::move(writer), r.correlation_id, keep_alive_of(req),
                                           core_->inflight);
    if (!core_->accepting.load()) {
      out->fail(domain::failure{errc::unavailable, "the node is shutting down", {}});
      return;
    }
    r.method = Http::methodString(req.method());
    r.path = req.resource();
    auto match = core_->routes->find(r.method, r.path, r.params);
    if (!match.found) {
      if (match.method_mismatch) {
        out->header("Allow", match.allowed);
        out->fail(domain::failure{
            errc::method_not_allowed, "method not allowed; use " + match.allowed, {}});
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
      out->fail(domain::failure{errc::payload_too_large, "the body is larger than allowed", {}});
      return;
    }
    if (auto ct = req.headers().tryGet<Http::Header::ContentType>())
      r.content_type = ct->mime().toString();
    if (!r.body.empty() && !is_json_media_type(r.content_type)) {
      out->fail(domain::failure{
          errc::unsupported_media_type, "request bodies must be application/json", {}});
      return;
    }
    for (auto i = req.query().parameters_begin(); i != req.query().parameters_end(); ++i)
      r.query.emplace(i->first, i->second);
    if (auto key = req.headers().tryGetRaw("Idempotency-Key"))
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
    reject(std::move(writer), errc::bad_request, "the request did not arrive in time");
  }

  /// Replaces Pistache's (private) one: creates the parser as it does, and starts tracking
  /// the connection for the server's own request timeouts.
  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
    auto state = std::make_shared<peer_state>();
    state->transport = transport();
    state->handler = this;
    state->peer = peer;
    peer->putData(peer_state_key, state);
    std::lock_guard<std::mutex> guard{core_->peers_mtx};
    core_->peers[peer.get()] = std::move(state);
  }

  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
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
    if (state && state->partial_since_ns.load() < 0)
      return; // timed out and answered; the connection is closing
    try {
      if (!parser->feed(buffer, len)) {
        parser->reset();
        reject(Http::ResponseWriter(Http::Version::Http11, transport(), this, peer),
               errc::payload_too_large, "the request is larger than allowed");
        return;
      }
      if (parser->parse() == Http::Private::State::Done) {
        if (state)
          state->partial_since_ns = 0;
        if (bad_content_length(std::string_view{buffer, len})) {
          parser->reset();
          reject(Http::ResponseWriter(Http::Version::Http11, transport(), this, peer),
                 errc::bad_request, "Content-Length must be a decimal number");
          return;
        }
        Http::ResponseWriter writer(request.version(), transport(), this, peer);
        request.copyAddress(peer->address());
        peer->setIdle(false);
        onRequest(request, std::move(writer));
        parser->reset();
      } else if (stuck_before_body(*parser, std::string_view{buffer, len})) {
        // The headers ended but the parser could not make sense of them: it would wait for
        // bytes that never come. Answer now instead of at the header timeout.
        parser->reset();
        reject(Http::ResponseWriter(Http::Version::Http11, transport(), this, peer),
               errc::bad_request, "malformed HTTP request");
      } else if (state && state->partial_since_ns.load() == 0) {
        state->partial_since_ns = steady_ns(); // a request began and is not complete yet
      }
    } catch (const std::exception& e) {
      parser->reset();
      reject(Http::ResponseWriter(Http::Version::Http11, transport(), this, peer),
             errc::bad_request, "malformed HTTP request");
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

  void reject(Http::ResponseWriter writer, errc code, std::string message) {
    answer_and_close(*core_, std::move(writer), code, std::move(message));
  }

  std::shared_ptr<server_core> core_;
};

} // namespace

// -- http_server -----------------------------------------------------------------------------

http_server::http_server(const config::http_options& http, const config::auth_options& auth,
                         std::shared_ptr<router> routes)
    : core_(std::make_shared<server_core>()) {
  core_->http = http;
  core_->auth = auth;
  core_->routes = std::move(routes);
}

http_server::~http_server() {
  stop();
}

/// Answers requests that did not arrive within http.header_timeout_ms with 400 and closes
/// their connections: the first request on a connection or any later one, headers or body.
void http_server::sweep() {
  auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::milliseconds{core_->http.header_timeout_ms})
                   .count();
  std::vector<std::shared_ptr<peer_state>> late;
  {
    std::lock_guard<std::mutex> guard{core_->peers_mtx};
    auto now = steady_ns();
    for (auto& [key, state] : core_->peers) {
      auto since = state->partial_since_ns.load();
      if (since > 0 && now - since > limit &&
          state->partial_since_ns.compare_exchange_strong(since, -1))
        late.push_back(state);
    }
  }
  for (auto& state : late) {
    auto peer = state->peer.lock();
    if (!peer)
      continue;
    answer_and_close(
        *core_, Http::ResponseWriter(Http::Version::Http11, state->transport, state->handler, peer),
        errc::bad_request, "the request did not arrive in time");
  }
}

void http_server::start() {
  Pistache::Address addr(core_->http.host, Pistache::Port(core_->http.port));
  endpoint_ = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(core_->http.threads)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(core_->http.max_body_bytes + 16 * 1024)
                  .maxResponseSize(16 * 1024 * 1024)
                  // The server times requests out itself (sweep); Pistache's own timeouts answer a
                  // body-less 408 and miss requests stuck in their body, so they are pushed out.
                  .headerTimeout(std::chrono::hours{24})
                  .bodyTimeout(std::chrono::hours{24});
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

void http_server::drain(std::chrono::milliseconds grace) {
  core_->accepting = false;
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (core_->inflight->load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  // Let the I/O threads flush what the last answers queued.
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
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
  return core_->inflight->load();
}

} // namespace bazaar::gateway
