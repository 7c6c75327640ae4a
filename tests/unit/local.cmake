# The local endpoint's front: token verifier, wire protocol, statement rules.
dsql_add_test(dsql_local_front_tests
  ${CMAKE_CURRENT_LIST_DIR}/local_verifier_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/local_protocol_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/local_front_rules_test.cpp
  LIBS dsql_local nlohmann_json::nlohmann_json)
