include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DSQL_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/dsql")
set(_dsql_install_targets dsql)
if(TARGET dsql_pqxx)
  list(APPEND _dsql_install_targets dsql_pqxx)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/pqxx/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT dev)
endif()

if(TARGET dsql_soci)
  list(APPEND _dsql_install_targets dsql_soci)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/soci/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT dev)
  # Finds SOCI again for dsqlConfig.cmake, since Debian's SOCI has no CMake package of its own.
  install(FILES "${PROJECT_SOURCE_DIR}/cmake/dsqlFindSOCI.cmake" DESTINATION "${DSQL_CMAKE_DIR}"
          COMPONENT dev)
endif()

if(TARGET dsql_async)
  list(APPEND _dsql_install_targets dsql_async)
  if(TARGET dsql_asio)
    list(APPEND _dsql_install_targets dsql_asio)  # standalone Asio's include path and threads
  endif()
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/async/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT dev)
  install(FILES "${PROJECT_BINARY_DIR}/async/include/dsql/async/asio_flavour.hpp"
          DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/dsql/async" COMPONENT dev)
endif()

# Components: runtime (shared libraries, when built shared: libdsql1), dev (headers, archives,
# CMake package, dsql.pc: libdsql-dev), tools (the dsql command: dsql-tools); see DsqlPackaging.
install(TARGETS ${_dsql_install_targets} EXPORT dsqlTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime NAMELINK_COMPONENT dev
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT dev)
install(FILES "${PROJECT_BINARY_DIR}/include/dsql/version.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/dsql" COMPONENT dev)
if(TARGET dsql_cli)
  install(TARGETS dsql_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT tools)
endif()

install(EXPORT dsqlTargets NAMESPACE dsql:: DESTINATION "${DSQL_CMAKE_DIR}" COMPONENT dev)
export(EXPORT dsqlTargets NAMESPACE dsql:: FILE "${PROJECT_BINARY_DIR}/dsqlTargets.cmake")

set(DSQL_HAS_PQXX OFF)
if(TARGET dsql_pqxx)
  set(DSQL_HAS_PQXX ON)
endif()
set(DSQL_HAS_SOCI OFF)
if(TARGET dsql_soci)
  set(DSQL_HAS_SOCI ON)
endif()
set(DSQL_ASYNC_FLAVOUR_FOR_CONFIG "")
if(TARGET dsql_async)
  set(DSQL_ASYNC_FLAVOUR_FOR_CONFIG "${DSQL_ASYNC_ASIO_FLAVOUR}")
endif()
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/dsqlConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/dsqlConfig.cmake" INSTALL_DESTINATION "${DSQL_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/dsqlConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/dsqlConfig.cmake" "${PROJECT_BINARY_DIR}/dsqlConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindPgQuery.cmake"
        DESTINATION "${DSQL_CMAKE_DIR}" COMPONENT dev)

# The .pc file finds the prefix from its own location, so that `cmake --install --prefix`
# anywhere gives a working file; absolute install dirs are used as they are.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(DSQL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _pc_to_prefix "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  set(DSQL_PC_PREFIX "\${pcfiledir}/${_pc_to_prefix}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(DSQL_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(DSQL_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
# A static libdsql needs its dependencies on every link line, not only with `pkg-config --static`.
get_target_property(_dsql_type dsql TYPE)
# libpg_query has no .pc file, so it is named in Libs (static) or Libs.private (shared).
if(_dsql_type STREQUAL "STATIC_LIBRARY")
  set(DSQL_PC_REQUIRES_FIELD "Requires")
  set(DSQL_PC_LIBS_EXTRA " -lpg_query")
  set(DSQL_PC_LIBS_PRIVATE "")
else()
  set(DSQL_PC_REQUIRES_FIELD "Requires.private")
  set(DSQL_PC_LIBS_EXTRA "")
  set(DSQL_PC_LIBS_PRIVATE "Libs.private: -lpg_query")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/dsql.pc.in" "${PROJECT_BINARY_DIR}/dsql.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/dsql.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT dev)

include(DsqlPackaging)
