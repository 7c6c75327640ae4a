# The connector against `dsql local`, and what it logs and counts (never a secret).
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_connector_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/connector_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/observe_integration_test.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL
    LABELS integration
    TIMEOUT 180)
  add_dependencies(dsql_connector_integration_tests dsql_cli)
endif()
