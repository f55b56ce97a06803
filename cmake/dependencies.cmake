# Every third-party library comes from Debian 12 packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(spdlog REQUIRED)
find_package(OpenSSL REQUIRED)
# Metrics: prometheus-cpp's core library (registry, text format); no exposer.
find_package(prometheus-cpp CONFIG REQUIRED)
pkg_check_modules(PISTACHE REQUIRED IMPORTED_TARGET libpistache)

# CAF 0.17 ships no CMake package on Debian: import the shared libraries by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
foreach(part core io openssl)
  find_library(CAF_${part}_LIBRARY NAMES caf_${part} REQUIRED)
  add_library(caf::${part} SHARED IMPORTED)
  set_target_properties(caf::${part} PROPERTIES
    IMPORTED_LOCATION ${CAF_${part}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endforeach()
set_property(TARGET caf::io APPEND PROPERTY INTERFACE_LINK_LIBRARIES caf::core)
set_property(TARGET caf::openssl APPEND PROPERTY INTERFACE_LINK_LIBRARIES caf::io OpenSSL::SSL)

# CLI11 is header-only.
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
add_library(cli11 INTERFACE)
target_include_directories(cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})
