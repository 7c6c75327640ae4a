# dsql load's I/O-free parts: the CSV/TSV reader, batch sizing and COPY text, the state file and
# the progress line.
if(TARGET dsql_cli_support)
  dsql_add_test(dsql_load_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/load_input_test.cpp
    LIBS dsql_cli_support)
endif()
