# Generates a C++ source holding gateway/openapi.json as a string, so that the node serves the
# document without reading files at run time. Inputs: INPUT, OUTPUT.
file(READ "${INPUT}" document)
string(FIND "${document}" ")bazaar_openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )bazaar_openapi\"")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from gateway/openapi.json by embed_openapi.cmake. Do not edit.\n#include \"bazaar/gateway/openapi.hpp\"\n\nnamespace bazaar::gateway {\n\nstd::string_view openapi_document() {\n  static const char text[] = R\"bazaar_openapi(${document})bazaar_openapi\";\n  return {text, sizeof text - 1};\n}\n\n} // namespace bazaar::gateway\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
