# The log interface and the metrics sink: levels, the handler, DSQL_LOG, escaping, redaction of
# token signing and credential resolution, counters. Threads swap handlers while others log.
dsql_add_test(dsql_observe_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/observe_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/observe_pool_test.cpp
  LABELS "unit;threads")
