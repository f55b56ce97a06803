#include "node_process.hpp"

#include "http_client.hpp"
#include "pg_schema.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace bazaar::test {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

process_exit run_until_exit(const std::string& binary, std::string schema,
                            std::vector<std::string> sets, std::chrono::milliseconds within) {
  std::vector<std::string> args{binary, "serve"};
  sets.insert(sets.begin(), {"http.host=127.0.0.1", "http.port=0", "postgres.schema=" + schema,
                             "log.format=text"});
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  auto url = test_postgres_url();
  int out[2];
  if (::pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    ::setenv("BAZAAR_POSTGRES_URL", url.c_str(), 1);
    ::setenv("BAZAAR_JWT_SECRET", node_process::secret(), 1);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
  process_exit result;
  auto deadline = std::chrono::steady_clock::now() + within;
  int status = 0;
  bool ended = false;
  char buf[4096];
  while (true) {
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0)
      result.output.append(buf, static_cast<std::size_t>(n));
    if (ended)
      break;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ended = true; // read what is left, then stop
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(out[0]);
      result.status = -1;
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  ::close(out[0]);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

/// The nodes' log level: warn, or BAZAAR_TEST_LOG_LEVEL (e.g. info, to see why a test failed).
static std::string log_level() {
  const char* level = std::getenv("BAZAAR_TEST_LOG_LEVEL");
  return level != nullptr && *level != '\0' ? level : "warn";
}

node_process::node_process(std::string schema, std::vector<std::string> sets,
                           std::chrono::milliseconds ready_within, std::string binary,
                           std::string output_file)
    : port_(free_port()) {
  std::vector<std::string> args{binary, "serve"};
  sets.insert(sets.begin(), {"http.host=127.0.0.1", "http.port=" + std::to_string(port_),
                             "postgres.schema=" + schema, "log.level=" + log_level()});
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  auto url = test_postgres_url();
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (!output_file.empty()) {
      int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0)
        ::_exit(126);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::close(out);
    }
    ::setenv("BAZAAR_POSTGRES_URL", url.c_str(), 1);
    ::setenv("BAZAAR_JWT_SECRET", secret(), 1);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + ready_within;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("bazaar exited during start");
    }
    try {
      http_connection c{port_, std::chrono::seconds{2}};
      if (c.request("GET", "/readyz").status == 200)
        return;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  stop(SIGKILL);
  throw std::runtime_error("bazaar did not become ready");
}

node_process::~node_process() {
  if (pid_ > 0)
    stop(SIGKILL);
}

namespace {

/// Sends `sig` to child `pid` and waits at most `within` for it to end (then kills it);
/// its exit status, or -signal.
int stop_child(pid_t pid, int sig, std::chrono::milliseconds within) {
  ::kill(pid, sig);
  auto deadline = std::chrono::steady_clock::now() + within;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

} // namespace

std::string node_process::token(const std::string& sub, auth::role role) {
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             3600;
  return auth::sign(auth::claims{sub, role, exp}, secret());
}

int node_process::stop(int sig, std::chrono::milliseconds within) {
  if (pid_ <= 0)
    return 0;
  auto status = stop_child(pid_, sig, within);
  pid_ = -1;
  return status;
}

kafka_mock_process::kafka_mock_process(std::vector<std::string> extra) {
  file_ = "/tmp/bazaar-kafka-mock-" + std::to_string(::getpid()) + "-" +
          std::to_string(free_port()) + ".txt";
  std::remove(file_.c_str());
  std::vector<std::string> args{BAZAAR_BIN, "kafka-mock", "--bootstrap-file", file_};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (int null = ::open("/dev/null", O_WRONLY); null >= 0)
      ::dup2(null, 1); // it prints the bootstrap list, which it also writes to the file
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (bootstrap_.empty() && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in{file_};
    std::getline(in, bootstrap_);
    if (bootstrap_.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  if (bootstrap_.empty())
    throw std::runtime_error("bazaar kafka-mock did not start");
}

kafka_mock_process::~kafka_mock_process() {
  stop_child(pid_, SIGTERM, std::chrono::seconds{10});
  std::remove(file_.c_str());
}

} // namespace bazaar::test
