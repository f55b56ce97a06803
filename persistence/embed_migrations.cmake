# Generates a C++ source holding every migration file as a string, in file name order, so
# the node needs no files at run time. Inputs: MIGRATIONS_DIR, OUTPUT.
file(GLOB files "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" sql)
  string(APPEND body "  {\"${name}\", R\"bazaar_sql(${sql})bazaar_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from persistence/migrations by embed_migrations.cmake. Do not edit.\n#include \"bazaar/persistence/migrations.hpp\"\n\nnamespace bazaar::persistence {\n\nconst std::vector<migration>& migrations() {\n  static const std::vector<migration> all = {\n${body}  };\n  return all;\n}\n\n} // namespace bazaar::persistence\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
