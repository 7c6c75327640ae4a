if(TARGET dsql_cli)
  dsql_add_test(dsql_cli_tests
    ${CMAKE_CURRENT_LIST_DIR}/cli_token_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cli_arguments_test.cpp
    LIBS dsql_test_support nlohmann_json::nlohmann_json
    LABELS "unit;cli")
  add_dependencies(dsql_cli_tests dsql_cli)
endif()
