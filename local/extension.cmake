# dsql_rules: the PostgreSQL server library that gives `dsql local` DSQL's SQL rules. Built
# against PostgreSQL's own server headers (postgresql-server-dev-15) and embedded into the `dsql`
# command, which writes it into the state directory for PostgreSQL to preload.
execute_process(COMMAND pg_config --includedir-server OUTPUT_VARIABLE DSQL_PG_SERVER_INCLUDE
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _pg_config_status)
if(NOT _pg_config_status EQUAL 0 OR NOT EXISTS "${DSQL_PG_SERVER_INCLUDE}/postgres.h")
  message(FATAL_ERROR "PostgreSQL server headers not found (pg_config --includedir-server); "
                      "install them with: apt-get install postgresql-server-dev-15")
endif()

add_library(dsql_rules MODULE
  ${CMAKE_CURRENT_LIST_DIR}/extension/dsql_rules.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/statement_rules.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/query_rules.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/column_rules.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/transaction_rules.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/jobs.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/job_worker.c
  ${CMAKE_CURRENT_LIST_DIR}/extension/front_support.c)
set_target_properties(dsql_rules PROPERTIES
  PREFIX "" OUTPUT_NAME dsql_rules C_STANDARD 99 C_EXTENSIONS ON
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}"
  # It runs inside PostgreSQL, which is not built with our sanitizers or fuzzing flags: none of
  # the project-wide options apply to it.
  COMPILE_OPTIONS "" LINK_OPTIONS "")
target_include_directories(dsql_rules SYSTEM PRIVATE "${DSQL_PG_SERVER_INCLUDE}")
# The semantics PostgreSQL's own code is compiled with (pg_config --cflags).
target_compile_options(dsql_rules PRIVATE -fwrapv -fno-strict-aliasing -fexcess-precision=standard
                                          -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare
                                          -Wno-missing-field-initializers -Wmissing-prototypes
                                          -Wpointer-arith -Wno-clobbered)

# The library's bytes inside the dsql command (.incbin), so that `dsql local` is one file.
set(DSQL_RULES_LIBRARY "${CMAKE_CURRENT_BINARY_DIR}/dsql_rules.so")
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/embedded_rules.cpp PROPERTIES
  OBJECT_DEPENDS "${DSQL_RULES_LIBRARY}"
  COMPILE_DEFINITIONS "DSQL_RULES_LIBRARY=\"${DSQL_RULES_LIBRARY}\"")
target_sources(dsql_local PRIVATE ${CMAKE_CURRENT_LIST_DIR}/embedded_rules.cpp)
add_dependencies(dsql_local dsql_rules)
