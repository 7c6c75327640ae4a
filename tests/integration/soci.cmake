# The SOCI adapter against `dsql local`.
if(TARGET dsql_soci AND TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_soci_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/soci_integration_test.cpp
    LIBS dsql_soci dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 180)
  add_dependencies(dsql_soci_integration_tests dsql_cli)
endif()
