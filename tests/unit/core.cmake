dsql_add_test(dsql_core_tests
  ${CMAKE_CURRENT_LIST_DIR}/sigv4_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/token_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/endpoint_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_error_test.cpp
  LIBS nlohmann_json::nlohmann_json)
