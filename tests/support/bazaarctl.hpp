#pragma once

/// Runs the real `bazaarctl` executable (BAZAARCTL_BIN) against a node on 127.0.0.1, as an
/// operator would: its exit status, standard output and standard error, bounded in time.

#include "support/tool.hpp"

#include <string>
#include <vector>

namespace bazaar::test {

/// Runs `bazaarctl --url http://127.0.0.1:<port> <args...>` with BAZAAR_JWT_SECRET=`secret`
/// (so that it mints its admin token as an operator's configuration would), killed after
/// 60 s. Arguments are single-quoted for the shell.
inline ctl_result bazaarctl(std::uint16_t port, const std::string& secret,
                            const std::vector<std::string>& args) {
  return run_tool("env -u BAZAAR_URL -u BAZAAR_ADMIN_TOKEN BAZAAR_JWT_SECRET='" + secret +
                      "' " BAZAARCTL_BIN " --url http://127.0.0.1:" + std::to_string(port),
                  args);
}

} // namespace bazaar::test
