# A consumer project proves both ways of using the library (and dsql::async and dsql::soci,
# when they are built).
set(_dsql_adapters_ok "")
if(TARGET dsql_async)
  set(_dsql_adapters_ok ".*dsql async consumer OK")
endif()
if(TARGET dsql_soci)
  string(APPEND _dsql_adapters_ok ".*dsql soci consumer OK")
endif()
if(DSQL_INSTALL)
  add_test(NAME cmake_consumer_find_package
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_consumer.sh install ${PROJECT_SOURCE_DIR}
            ${PROJECT_BINARY_DIR} ${PROJECT_BINARY_DIR}/consumer-install)
  set_tests_properties(cmake_consumer_find_package PROPERTIES LABELS consumer TIMEOUT 600
                       RESOURCE_LOCK dsql_build_tree
                       PASS_REGULAR_EXPRESSION "consumer OK${_dsql_adapters_ok}.*consumer OK")
endif()
add_test(NAME cmake_consumer_add_subdirectory
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_consumer.sh subdirectory ${PROJECT_SOURCE_DIR}
          ${PROJECT_BINARY_DIR} ${PROJECT_BINARY_DIR}/consumer-subdir)
set_tests_properties(cmake_consumer_add_subdirectory PROPERTIES LABELS consumer TIMEOUT 600
                     PASS_REGULAR_EXPRESSION "consumer OK${_dsql_adapters_ok}")

# The Debian packages of scripts/package.sh (libdsql1, libdsql-dev, dsql-tools, from a shared
# Release tree of their own), unpacked into a temporary prefix, serve the consumer project and
# hold a working `dsql`. The package build takes two cores for minutes: one consumer test at a
# time.
if(DSQL_INSTALL AND TARGET dsql_cli)
  add_test(NAME cmake_consumer_debian_packages
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_consumer.sh packages ${PROJECT_SOURCE_DIR}
            ${PROJECT_BINARY_DIR} ${PROJECT_BINARY_DIR}/consumer-packages)
  set_tests_properties(cmake_consumer_debian_packages PROPERTIES LABELS consumer TIMEOUT 1500
                       RESOURCE_LOCK dsql_build_tree
                       PASS_REGULAR_EXPRESSION "consumer OK${_dsql_adapters_ok}.*consumer OK.*dsql-tools OK")
endif()
