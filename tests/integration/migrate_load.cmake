# dsql migrate and dsql::batch_writer against dsql local with DSQL's rules on.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_migrate_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/migrate_integration_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 600)
  dsql_add_test(dsql_migrate_concurrency_tests
    ${CMAKE_CURRENT_LIST_DIR}/migrate_concurrency_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS "integration;threads"
    TIMEOUT 300)
  dsql_add_test(dsql_cli_migrate_load_tests
    ${CMAKE_CURRENT_LIST_DIR}/cli_migrate_load_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 600)
  add_dependencies(dsql_cli_migrate_load_tests dsql_cli)
  dsql_add_test(dsql_batch_writer_tests
    ${CMAKE_CURRENT_LIST_DIR}/batch_writer_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 300)
  dsql_add_test(dsql_batch_writer_threads_tests
    ${CMAKE_CURRENT_LIST_DIR}/batch_writer_threads_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS "integration;threads"
    TIMEOUT 300)
endif()
