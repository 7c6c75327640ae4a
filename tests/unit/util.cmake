# The library's small shared helpers: the timestamp parser, the message quoting helper, the
# bounded file reader, the atomic file writer.
dsql_add_test(dsql_util_tests
  ${CMAKE_CURRENT_LIST_DIR}/time_format_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bounded_files_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/atomic_write_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/message_safety_test.cpp
  LIBS nlohmann_json::nlohmann_json)
