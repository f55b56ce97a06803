/// bench_pistache_baseline: a bare Pistache endpoint answering basket writes, the raw baseline
/// of bench/http_bench.sh. It does what every HTTP server must do for such a request (parse
/// HTTP, parse the JSON body with Boost.JSON, answer a small JSON body with keep-alive) and
/// nothing of Bazaar (no routing table, no auth unless asked, no actor hop, no grain).

#include "bazaar/gateway/jwt.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>
#include <variant>

namespace {

namespace Http = Pistache::Http;

/// What the handler needs, shared by the clones Pistache makes of it.
struct settings {
  /// When not empty, bearer tokens are verified with this HS256 secret (as the gateway does).
  std::string jwt_secret;
};

/// The fixed answer of a basket write.
const std::string answer_body = R"({"status":"ok"})";

/// Seconds since the Unix epoch, for token expiry.
std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Sends `body` with `status`, keeping the connection alive: Pistache pre-sets `Connection:
/// Close` for requests without a Connection header, so it is replaced (as the gateway does).
void answer(Http::ResponseWriter& writer, Http::Code status, const std::string& body) {
  writer.headers().remove<Http::Header::Connection>();
  writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
  writer.send(status, body, MIME(Application, Json));
}

/// Answers POST /api/v1/basket/items and PUT /api/v1/basket/items/{sku}.
class baseline_handler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(baseline_handler)

  explicit baseline_handler(std::shared_ptr<const settings> s) : settings_(std::move(s)) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter writer) override {
    static const std::string prefix = "/api/v1/basket/items";
    const auto& path = req.resource();
    bool is_write = req.method() == Http::Method::Post || req.method() == Http::Method::Put;
    if (!is_write || path.compare(0, prefix.size(), prefix) != 0) {
      answer(writer, Http::Code::Not_Found, R"({"status":"not_found"})");
      return;
    }
    if (!settings_->jwt_secret.empty() && !authorized(req)) {
      answer(writer, Http::Code::Unauthorized, R"({"status":"unauthorized"})");
      return;
    }
    boost::system::error_code ec;
    auto body = boost::json::parse(req.body(), ec);
    const auto* object = ec ? nullptr : body.if_object();
    const auto* quantity = object ? object->if_contains("quantity") : nullptr;
    if (quantity == nullptr || !quantity->is_int64()) {
      answer(writer, Http::Code::Bad_Request, R"({"status":"bad_request"})");
      return;
    }
    answer(writer, Http::Code::Ok, answer_body);
  }

 private:
  bool authorized(const Http::Request& req) const {
    auto header = req.headers().tryGet<Http::Header::Authorization>();
    if (!header)
      return false;
    auto value = header->value();
    static const std::string scheme = "Bearer ";
    if (value.compare(0, scheme.size(), scheme) != 0)
      return false;
    auto verified =
        bazaar::auth::verify(value.substr(scheme.size()), settings_->jwt_secret, now_seconds());
    return std::holds_alternative<bazaar::auth::claims>(verified);
  }

  std::shared_ptr<const settings> settings_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bare Pistache endpoint for basket writes: the baseline of bench/http_bench.sh"};
  std::uint16_t port = 0;
  int threads = 2;
  auto s = std::make_shared<settings>();
  app.add_option("--port", port, "Port on 127.0.0.1 (0: any free port)");
  app.add_option("--threads", threads, "Pistache I/O threads (the node's http.threads default)")
      ->check(CLI::Range(1, 64));
  app.add_option("--jwt-secret", s->jwt_secret,
                 "Also verify bearer tokens (HS256) like the gateway does");
  CLI11_PARSE(app, argc, argv);

  // Only the main thread takes SIGINT/SIGTERM, in sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Pistache::Address addr(Pistache::Ipv4(127, 0, 0, 1), Pistache::Port(port));
  Http::Endpoint server(addr);
  server.init(Http::Endpoint::options().threads(threads).flags(Pistache::Tcp::Options::ReuseAddr));
  server.setHandler(Http::make_handler<baseline_handler>(s));
  try {
    server.serveThreaded();
  } catch (const std::exception& e) {
    std::cerr << "bench_pistache_baseline: cannot serve on port " << port << ": " << e.what()
              << "\n";
    return 1;
  }
  std::cout << "bench_pistache_baseline: 127.0.0.1:" << static_cast<std::uint16_t>(server.getPort())
            << ", " << threads
            << " Pistache threads; POST /api/v1/basket/items and PUT /api/v1/basket/items/{sku}: "
               "parses the JSON body with Boost.JSON, checks \"quantity\" is an integer, answers "
               "200 "
            << answer_body << " with Connection: keep-alive; "
            << (s->jwt_secret.empty() ? "no auth" : "verifies the HS256 bearer token")
            << ", no routing table, no actor hop, no grain" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.shutdown();
  return 0;
}
