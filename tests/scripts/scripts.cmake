# The scripts' own guards (scripts/common.sh), run as ctest tests.
add_test(NAME scripts_stage_guard COMMAND ${CMAKE_CURRENT_LIST_DIR}/stage_test.sh)
set_tests_properties(scripts_stage_guard PROPERTIES LABELS unit TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "stage guard OK")
