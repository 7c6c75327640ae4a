# The TLS front of `dsql local` (wire protocol, token verifier, session rules, relay).
target_sources(dsql_local PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/wire_protocol.cpp
  ${CMAKE_CURRENT_LIST_DIR}/token_verifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/front_statements.cpp
  ${CMAKE_CURRENT_LIST_DIR}/relay_rules.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conflict_adjudicator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conflict_monitor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/startup_rules.cpp
  ${CMAKE_CURRENT_LIST_DIR}/connection_quota.cpp
  ${CMAKE_CURRENT_LIST_DIR}/backend_schema.cpp
  ${CMAKE_CURRENT_LIST_DIR}/backend_worker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/front_bookkeeping.cpp
  ${CMAKE_CURRENT_LIST_DIR}/session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/session_startup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/session_relay.cpp
  ${CMAKE_CURRENT_LIST_DIR}/front_server.cpp
)
