#pragma once

/// Process-wide logging: spdlog to stderr, one JSON object per line (or plain text).

#include "bazaar/config/options.hpp"

namespace bazaar::runtime {

/// Installs the default logger according to the options. Call once at start.
void setup_logging(const config::log_options& opts);

} // namespace bazaar::runtime
