include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DSQL_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/dsql")
set(_dsql_install_targets dsql)
if(TARGET dsql_pqxx)
  list(APPEND _dsql_install_targets dsql_pqxx)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/pqxx/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
endif()

install(TARGETS ${_dsql_install_targets} EXPORT dsqlTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(FILES "${PROJECT_BINARY_DIR}/include/dsql/version.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/dsql")
if(TARGET dsql_cli)
  install(TARGETS dsql_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()

install(EXPORT dsqlTargets NAMESPACE dsql:: DESTINATION "${DSQL_CMAKE_DIR}")
export(EXPORT dsqlTargets NAMESPACE dsql:: FILE "${PROJECT_BINARY_DIR}/dsqlTargets.cmake")

set(DSQL_HAS_PQXX OFF)
if(TARGET dsql_pqxx)
  set(DSQL_HAS_PQXX ON)
endif()
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/dsqlConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/dsqlConfig.cmake" INSTALL_DESTINATION "${DSQL_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/dsqlConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/dsqlConfig.cmake" "${PROJECT_BINARY_DIR}/dsqlConfigVersion.cmake"
        DESTINATION "${DSQL_CMAKE_DIR}")

# pkg-config paths may be absolute or relative to the prefix.
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(DSQL_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(DSQL_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
configure_file("${PROJECT_SOURCE_DIR}/cmake/dsql.pc.in" "${PROJECT_BINARY_DIR}/dsql.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/dsql.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
