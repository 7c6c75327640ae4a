# dsql local's TLS front, byte by byte: raw PostgreSQL wire protocol over TCP and OpenSSL (direct
# TLS and ALPN, the SSLRequest preamble, refusals, stalls, oversized passwords), plus cancel and
# transaction rules through libpq. One endpoint per suite.
if(TARGET dsql_test_local_endpoint)
  dsql_add_test(dsql_local_wire_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_wire_test.cpp
    LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL OpenSSL::SSL OpenSSL::Crypto
    LABELS integration
    TIMEOUT 180)
  add_dependencies(dsql_local_wire_tests dsql_cli)
endif()
