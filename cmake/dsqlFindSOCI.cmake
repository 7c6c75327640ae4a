# Finds SOCI's core and PostgreSQL backend as SOCI::soci_core and SOCI::soci_postgresql, the
# names SOCI's own CMake package uses. Debian's libsoci-dev 4.0 ships no CMake package (nor a
# .pc file), so the libraries are looked up by hand when SOCI's package is absent. Sets
# DSQL_SOCI_FOUND. Used by the build and, installed, by dsqlConfig.cmake.
if(NOT TARGET SOCI::soci_core OR NOT TARGET SOCI::soci_postgresql)
  find_package(SOCI CONFIG QUIET)
endif()
if(NOT TARGET SOCI::soci_core OR NOT TARGET SOCI::soci_postgresql)
  find_path(DSQL_SOCI_INCLUDE_DIR soci/soci.h)
  find_path(DSQL_SOCI_POSTGRESQL_INCLUDE_DIR soci/postgresql/soci-postgresql.h)
  find_library(DSQL_SOCI_CORE_LIBRARY soci_core)
  find_library(DSQL_SOCI_POSTGRESQL_LIBRARY soci_postgresql)
  if(DSQL_SOCI_INCLUDE_DIR AND DSQL_SOCI_POSTGRESQL_INCLUDE_DIR AND DSQL_SOCI_CORE_LIBRARY
     AND DSQL_SOCI_POSTGRESQL_LIBRARY)
    find_package(PostgreSQL QUIET)
    if(PostgreSQL_FOUND)
      add_library(SOCI::soci_core UNKNOWN IMPORTED)
      set_target_properties(SOCI::soci_core PROPERTIES
        IMPORTED_LOCATION "${DSQL_SOCI_CORE_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${DSQL_SOCI_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
      add_library(SOCI::soci_postgresql UNKNOWN IMPORTED)
      # The backend's header includes libpq-fe.h.
      set_target_properties(SOCI::soci_postgresql PROPERTIES
        IMPORTED_LOCATION "${DSQL_SOCI_POSTGRESQL_LIBRARY}"
        INTERFACE_LINK_LIBRARIES "SOCI::soci_core;PostgreSQL::PostgreSQL")
    endif()
  endif()
endif()
if(TARGET SOCI::soci_core AND TARGET SOCI::soci_postgresql)
  set(DSQL_SOCI_FOUND TRUE)
else()
  set(DSQL_SOCI_FOUND FALSE)
endif()
