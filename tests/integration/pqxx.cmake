# The libpqxx adapter against `dsql local`.
if(TARGET dsql_pqxx AND TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_pqxx_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/pqxx_integration_test.cpp
    LIBS dsql_pqxx dsql_test_local_endpoint
    LABELS "integration;threads"
    TIMEOUT 180)
  add_dependencies(dsql_pqxx_integration_tests dsql_cli)
endif()
