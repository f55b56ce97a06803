#pragma once

/// The `bazaar` command line (serve, config-keys, kafka-mock), shared by the production
/// executable and test executables that host extra grain types.

#include "bazaar/grain_extension.hpp"

#include <vector>

namespace bazaar {

/// Runs the command line; returns the process exit code (2: invalid configuration or usage,
/// 1: the node failed, 0: stopped by SIGINT/SIGTERM).
int run_cli(int argc, char** argv, std::vector<grain_extension> extensions = {});

} // namespace bazaar
