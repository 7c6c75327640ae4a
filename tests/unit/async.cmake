# dsql::async without a server: connect failures, timeouts and cancellation against loopback
# sockets, where credentials are resolved, option checks, the pool's answers when nothing accepts
# connections. C++20 for coroutines; the library itself is C++17. Background threads throughout.
if(TARGET dsql_async)
  dsql_add_test(dsql_async_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/async_test.cpp
    LIBS dsql_async dsql_test_support
    LABELS "unit;threads;async")
  set_target_properties(dsql_async_unit_tests PROPERTIES CXX_STANDARD 20)
endif()
