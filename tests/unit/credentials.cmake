dsql_add_test(dsql_credentials_tests
  ${CMAKE_CURRENT_LIST_DIR}/credentials_shared_config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_environment_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_profile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_process_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_chain_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cache_test.cpp
  LIBS nlohmann_json::nlohmann_json
  LABELS "unit;threads")
