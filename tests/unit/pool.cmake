# Pool and OCC retry logic that needs no server: the pool engine's policy on a fake clock, option
# checks, backoff maths, classification, the pool's behaviour when nothing accepts connections,
# and token reuse in the connector.
dsql_add_test(dsql_pool_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/pool_engine_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/retry_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pool_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/token_reuse_test.cpp
  LABELS "unit;threads")
