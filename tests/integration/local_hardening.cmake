# dsql local's hardening (issue 9): one end-to-end regression test per defect fixed, each against
# its own endpoint.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_local_hardening_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_hardening_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/local_hardening_front_test.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL OpenSSL::SSL OpenSSL::Crypto
         nlohmann_json::nlohmann_json
    LABELS integration
    TIMEOUT 180)
endif()
