# The SOCI adapter's logic that needs no server: OCC classification of SOCI's errors, sessions
# refused before any network access.
if(TARGET dsql_soci)
  dsql_add_test(dsql_soci_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/soci_test.cpp
    LIBS dsql_soci
    LABELS unit)
endif()
