# Debian packages with CPack, one per install component (see DsqlInstall.cmake):
#   libdsql1     the shared libraries; only when the libraries are built shared
#                (BUILD_SHARED_LIBS=ON). The default build makes static archives, which belong
#                in the -dev package, so there is then no runtime package at all.
#   libdsql-dev  headers, archives (or the .so links), the CMake package and dsql.pc
#   dsql-tools   the dsql command, dsql local included
# The version is project()'s. scripts/package.sh runs `cpack` on a build tree.

set(CPACK_PACKAGE_NAME "dsql")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VENDOR "Aurora DSQL Connector for C++ contributors")
set(CPACK_PACKAGE_CONTACT "Aurora DSQL Connector for C++ maintainers")
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Binary packages get their Depends: from the libraries their ELF files need.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

get_target_property(_dsql_pkg_type dsql TYPE)
if(_dsql_pkg_type STREQUAL "SHARED_LIBRARY")
  set(CPACK_COMPONENTS_ALL runtime dev)
  # libdsql1 ships a shlibs file, and dpkg-shlibdeps finds the libraries built here when it
  # looks at what the dsql command needs (the libdsql1 dependency itself is named below).
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
      "${PROJECT_BINARY_DIR}/src;${PROJECT_BINARY_DIR}/pqxx;${PROJECT_BINARY_DIR}/soci;${PROJECT_BINARY_DIR}/async")
else()
  set(CPACK_COMPONENTS_ALL dev)
endif()
if(TARGET dsql_cli)
  list(APPEND CPACK_COMPONENTS_ALL tools)
endif()

set(_dsql_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "libdsql1")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "libs")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "Aurora DSQL Connector for C++: shared libraries\n IAM tokens, credentials, verified TLS connections, a pool and OCC retry over libpq.")

# What a program built against the headers and archives must link, and what dsqlConfig.cmake
# finds: the -dev packages of every dependency of the libraries that were built; and libcurl4,
# which the network credential sources open at run time (dlopen).
set(_dsql_dev_depends
    "libpq-dev, libssl-dev, libpugixml-dev, nlohmann-json3-dev, libpg-query-dev, libcurl4")
if(TARGET dsql_pqxx)
  string(APPEND _dsql_dev_depends ", libpqxx-dev, pkg-config")
endif()
if(TARGET dsql_soci)
  string(APPEND _dsql_dev_depends ", libsoci-dev")
endif()
if(TARGET dsql_async)
  if(DSQL_ASYNC_ASIO_FLAVOUR STREQUAL "boost")
    string(APPEND _dsql_dev_depends ", libboost-dev (>= 1.77)")
  else()
    string(APPEND _dsql_dev_depends ", libasio-dev")
  endif()
endif()
if(_dsql_pkg_type STREQUAL "SHARED_LIBRARY")
  string(APPEND _dsql_dev_depends ", libdsql1 (= ${_dsql_deb_version})")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_NAME "libdsql-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_dsql_dev_depends}")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "Aurora DSQL Connector for C++: development files\n Headers, libraries, the CMake package (find_package(dsql)) and dsql.pc.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME "dsql-tools")
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION "database")
# `dsql local` runs PostgreSQL 15's server and `dsql psql` its client; `dsql token` needs neither.
set(CPACK_DEBIAN_TOOLS_PACKAGE_RECOMMENDS "postgresql-15, postgresql-client-15")
# libcurl is opened on first use (dlopen) by the network credential sources, so dpkg-shlibdeps
# cannot see it: named here, beside what shlibdeps finds.
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libcurl4")
if(_dsql_pkg_type STREQUAL "SHARED_LIBRARY")
  string(APPEND CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS ", libdsql1 (= ${_dsql_deb_version})")
endif()
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "Aurora DSQL Connector for C++: the dsql command\n dsql token, dsql psql, dsql migrate, dsql load and dsql local, a local DSQL endpoint.")

include(CPack)
