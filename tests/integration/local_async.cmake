# dsql::async against `dsql local`: connections, pipelines, the pool, OCC retry, timeouts,
# cancellation, failover, a refused login. C++20 for coroutines (the library is C++17); the
# C++17 program checks callbacks, futures and callback-style transaction bodies. Background
# threads throughout: these also run under ThreadSanitizer.
if(TARGET dsql_async AND TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_async_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/async_connection_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/async_pool_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/async_transaction_test.cpp
    LIBS dsql_async dsql_test_local_endpoint
    LABELS "integration;threads;async"
    TIMEOUT 300)
  set_target_properties(dsql_async_integration_tests PROPERTIES CXX_STANDARD 20)
  add_dependencies(dsql_async_integration_tests dsql_cli)

  dsql_add_test(dsql_async_cxx17_tests
    ${CMAKE_CURRENT_LIST_DIR}/async_cxx17_test.cpp
    LIBS dsql_async dsql_test_local_endpoint
    LABELS "integration;threads;async"
    TIMEOUT 180)
  add_dependencies(dsql_async_cxx17_tests dsql_cli)
endif()
