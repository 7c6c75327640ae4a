# `dsql psql` against `dsql local`.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_cli_psql_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_cli_psql_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 120)
  add_dependencies(dsql_cli_psql_tests dsql_cli)
endif()
