# Cloud credential sources (IMDS, containers, web identity, assume role, SSO and its token
# refresh, `aws login` sessions) end to end against tests/support/fake_aws_server and the fake
# Sign-In and SSO-OIDC services on 127.0.0.1, the default chain's order, and the STS signer.
dsql_add_test(dsql_credentials_cloud_tests
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_signer_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_imds_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_container_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_sts_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_sso_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_sso_refresh_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_login_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/credentials_cloud_chain_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/fake_aws_server.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/fake_signin_service.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/fake_sso_oidc_service.cpp
  LIBS nlohmann_json::nlohmann_json
  LABELS "unit;threads")
