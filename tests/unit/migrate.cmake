# dsql migrate's I/O-free parts: files, versions, checksums, libpg_query splitting and
# classification, transactions, and the refusals known without a server.
dsql_add_test(dsql_migrate_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/migrate_plan_test.cpp
  LIBS nlohmann_json::nlohmann_json)
