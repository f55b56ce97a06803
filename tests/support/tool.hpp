#pragma once

/// Runs one of the real command-line executables (bazaarctl, bazaar-load) as a user would:
/// its exit status, standard output and standard error, killed after a bound.

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

/// Runs `<command> <args...>` through the shell (`command` may start with environment
/// settings), the arguments single-quoted, killed after `timeout_seconds`.
inline ctl_result run_tool(const std::string& command, const std::vector<std::string>& args,
                           int timeout_seconds = 60) {
  static int runs = 0;
  auto err_file =
      "/tmp/bazaar-tool-test-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".err";
  std::string cmd = "timeout " + std::to_string(timeout_seconds) + " " + command;
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
