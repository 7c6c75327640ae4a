# Warnings and sanitizers, applied per target so that consumers of the library inherit neither.

function(dsql_target_options target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  endif()
  if(DSQL_SANITIZE)
    string(REPLACE ";" "," _san "${DSQL_SANITIZE}")
    target_compile_options(${target} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${_san})
  endif()
endfunction()

# Sanitized libraries need the runtime in every executable that links them.
if(DSQL_SANITIZE)
  string(REPLACE ";" "," _dsql_san "${DSQL_SANITIZE}")
  add_link_options(-fsanitize=${_dsql_san})
endif()

# Fuzz builds instrument every target for coverage; only the fuzz targets link libFuzzer's main.
if(DSQL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DSQL_FUZZ needs clang (e.g. CXX=clang++-14); g++ builds replay the corpora")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
