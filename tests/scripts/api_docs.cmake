# docs/api.md against the public headers (scripts/api_docs.sh --check): fails when a header that
# (every header under the public include directories) has an undocumented
# public declaration, or when docs/api.md is stale. Needs doxygen, which scripts/test.sh installs;
# without it the test fails and says so. Reads only the source tree, so any build tree runs it.
add_test(NAME api_docs
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/api_docs.sh --check
                 --work ${CMAKE_CURRENT_BINARY_DIR}/api_docs)
set_tests_properties(api_docs PROPERTIES LABELS unit TIMEOUT 120)
