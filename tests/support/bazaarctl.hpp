#pragma once

/// Runs the real `bazaarctl` executable (BAZAARCTL_BIN) against a node on 127.0.0.1, as an
/// operator would: its exit status, standard output and standard error, bounded in time.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bazaar::test {

struct ctl_result {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs `bazaarctl --url http://127.0.0.1:<port> <args...>` with BAZAAR_JWT_SECRET=`secret`
/// (so that it mints its admin token as an operator's configuration would), killed after
/// 60 s. Arguments are single-quoted for the shell.
inline ctl_result bazaarctl(std::uint16_t port, const std::string& secret,
                            const std::vector<std::string>& args) {
  static int runs = 0;
  auto err_file =
      "/tmp/bazaarctl-test-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".err";
  std::string cmd = "env -u BAZAAR_URL -u BAZAAR_ADMIN_TOKEN BAZAAR_JWT_SECRET='" + secret +
                    "' timeout 60 " BAZAARCTL_BIN " --url http://127.0.0.1:" + std::to_string(port);
  for (const auto& a : args)
    cmd += " '" + a + "'";
  cmd += " 2>" + err_file;
  ctl_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    throw std::runtime_error("cannot run " + cmd);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in{err_file};
  std::stringstream s;
  s << in.rdbuf();
  r.err = s.str();
  std::remove(err_file.c_str());
  return r;
}

} // namespace bazaar::test
