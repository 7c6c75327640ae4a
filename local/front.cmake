# The TLS front of `dsql local` (wire protocol, token verifier, session rules, relay).
target_sources(dsql_local PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wire_protocol.cpp
  ${CMAKE_CURRENT_LIST_DIR}/token_verifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/statement_rules.cpp
  ${CMAKE_CURRENT_LIST_DIR}/front_bookkeeping.cpp
  ${CMAKE_CURRENT_LIST_DIR}/session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/front_server.cpp
)
