# The examples, run against `dsql local`.
if(TARGET dsql_test_local_endpoint AND DSQL_BUILD_EXAMPLES)
  dsql_add_test(dsql_examples_tests
    ${CMAKE_CURRENT_LIST_DIR}/local_examples_test.cpp
    LIBS dsql_test_local_endpoint
    LABELS integration
    TIMEOUT 300)
  add_dependencies(dsql_examples_tests dsql_cli example_libpq example_pool example_occ_retry
                   example_non_admin example_migrate example_load)
  foreach(_optional example_pqxx example_async example_soci_owners)
    if(TARGET ${_optional})
      add_dependencies(dsql_examples_tests ${_optional})
    endif()
  endforeach()
endif()
