# DSQL's rules as `dsql local` applies them, one program per rule family, each with a positive
# and a refused case per rule (see local_rules.hpp). One endpoint per suite.
if(TARGET dsql_test_local_endpoint)
  # dsql_local_rules_test(<family> [THREADS] [LIBS ...]): local_rules_<family>_test.cpp.
  function(dsql_local_rules_test family)
    cmake_parse_arguments(R "THREADS" "TIMEOUT" "LIBS" ${ARGN})
    set(_labels integration)
    if(R_THREADS)
      set(_labels "integration;threads")
    endif()
    if(NOT R_TIMEOUT)
      set(R_TIMEOUT 180)
    endif()
    dsql_add_test(dsql_local_rules_${family}_tests
      ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/local_rules_${family}_test.cpp
      LIBS dsql_test_local_endpoint PostgreSQL::PostgreSQL ${R_LIBS}
      LABELS ${_labels}
      TIMEOUT ${R_TIMEOUT})
    add_dependencies(dsql_local_rules_${family}_tests dsql_cli)
  endfunction()

  dsql_local_rules_test(transactions)
  dsql_local_rules_test(indexes)
  dsql_local_rules_test(objects)
  dsql_local_rules_test(dialect)
  dsql_local_rules_test(limits)
  dsql_local_rules_test(quotas THREADS)
  dsql_local_rules_test(occ THREADS)
  dsql_local_rules_test(multiregion)
  dsql_local_rules_test(settings)
  if(TARGET dsql_pqxx)
    dsql_local_rules_test(pqxx LIBS dsql_pqxx)
  endif()
endif()
