# The pool and OCC retry against `dsql local`: contention, injected conflicts, the endpoint's age
# cap, short-lived tokens, a restart, multi-Region failover, connection quotas (53400, 53300).
# Threads throughout: these also run under ThreadSanitizer.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_pool_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/pool_integration_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pool_quota_test.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL
    LABELS "integration;threads"
    TIMEOUT 240)
  add_dependencies(dsql_pool_integration_tests dsql_cli)
endif()
