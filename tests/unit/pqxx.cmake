# The libpqxx adapter's logic that needs no server: conninfo quoting, OCC classification.
if(TARGET dsql_pqxx)
  dsql_add_test(dsql_pqxx_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/pqxx_test.cpp
    LIBS dsql_pqxx PostgreSQL::PostgreSQL
    LABELS unit)
endif()
