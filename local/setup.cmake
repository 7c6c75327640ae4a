# The half of dsql local around the front: PostgreSQL supervisor, certificates, state directory,
# endpoint.json.
target_sources(dsql_local PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/certificate_authority.cpp
  ${CMAKE_CURRENT_LIST_DIR}/endpoint_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/child_process.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_supervisor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/state_dir.cpp
)
