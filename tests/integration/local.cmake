# dsql local, end to end: the built `dsql local` started per test on a fresh directory and a free
# port. The fixture library is for every area's integration tests.
if(TARGET dsql_cli)
  add_library(dsql_test_local_endpoint STATIC ${CMAKE_CURRENT_LIST_DIR}/local_endpoint.cpp)
  target_include_directories(dsql_test_local_endpoint PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(dsql_test_local_endpoint PRIVATE DSQL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  target_link_libraries(dsql_test_local_endpoint PUBLIC dsql dsql_test_support PRIVATE nlohmann_json::nlohmann_json)
  dsql_target_options(dsql_test_local_endpoint)
  # Tests that start an endpoint need the command built first.
  add_dependencies(dsql_test_local_endpoint dsql_cli)

  dsql_add_test(dsql_local_endpoint_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_endpoint_test.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL OpenSSL::Crypto nlohmann_json::nlohmann_json
    LABELS integration
    TIMEOUT 180)
  add_dependencies(dsql_local_endpoint_tests dsql_cli)
endif()

# Answers recorded on a real DSQL cluster, replayed against dsql local.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_local_probe_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_probes_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_replay.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL nlohmann_json::nlohmann_json
    LABELS integration
    TIMEOUT 300)
endif()
