# -DEXPERITURE_BUNDLED_DEPS=ON: SQLite and mbedTLS (crypto only) built from the sources pinned in
# cmake/deps.cmake, as static PIC libraries with hidden symbols that end up inside libexperiture
# without being exported. Defines the targets the find_package path defines: SQLite::SQLite3 and
# experiture_mbedcrypto. The source files come from EXPERITURE_DEPS_DIR (CMake or environment
# variable) or from .deps-cache/ (scripts/fetch-deps.sh); each is checked against its SHA-256.

set(EXPERITURE_DEPS_DIR "$ENV{EXPERITURE_DEPS_DIR}" CACHE PATH
  "Folder holding the files pinned in cmake/deps.cmake (default: .deps-cache/ from scripts/fetch-deps.sh)")

set(EXPERITURE_DEP_PINS "")
function(experiture_dep_file name version file sha256 kind)
  set_property(GLOBAL APPEND PROPERTY EXPERITURE_DEP_PINS "${name}|${version}|${file}|${sha256}|${kind}")
endfunction()
include(${CMAKE_CURRENT_LIST_DIR}/deps.cmake)

# experiture_dep_locate(NAME): sets EXPERITURE_<NAME>_ARCHIVE, _VERSION, _KIND to the first accepted
# file found (EXPERITURE_DEPS_DIR first, then .deps-cache/), after checking its SHA-256.
function(experiture_dep_locate name)
  get_property(pins GLOBAL PROPERTY EXPERITURE_DEP_PINS)
  set(dirs "")
  if(EXPERITURE_DEPS_DIR)
    list(APPEND dirs "${EXPERITURE_DEPS_DIR}")
  endif()
  list(APPEND dirs "${PROJECT_SOURCE_DIR}/.deps-cache")
  set(accepted "")
  foreach(dir ${dirs})
    foreach(pin ${pins})
      string(REPLACE "|" ";" fields "${pin}")
      list(GET fields 0 pin_name)
      if(NOT pin_name STREQUAL name)
        continue()
      endif()
      list(GET fields 1 version)
      list(GET fields 2 file)
      list(GET fields 3 expected)
      list(GET fields 4 kind)
      list(APPEND accepted ${file})
      if(EXISTS "${dir}/${file}")
        file(SHA256 "${dir}/${file}" actual)
        if(NOT actual STREQUAL expected)
          message(FATAL_ERROR "${dir}/${file}: SHA-256 mismatch\n"
            "  expected ${expected} (cmake/deps.cmake)\n  got      ${actual}\n"
            "This is not the pinned ${name} ${version}: delete the file and fetch it again "
            "(scripts/fetch-deps.sh).")
        endif()
        set(EXPERITURE_${name}_ARCHIVE "${dir}/${file}" PARENT_SCOPE)
        set(EXPERITURE_${name}_VERSION "${version}" PARENT_SCOPE)
        set(EXPERITURE_${name}_KIND "${kind}" PARENT_SCOPE)
        set(EXPERITURE_${name}_SHA256 "${expected}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES accepted)
  string(REPLACE ";" ", " accepted "${accepted}")
  string(REPLACE ";" ", " dirs "${dirs}")
  message(FATAL_ERROR "EXPERITURE_BUNDLED_DEPS: no source for ${name} in ${dirs}.\n"
    "Run scripts/fetch-deps.sh (Debian), or put one of these files into a folder and set "
    "EXPERITURE_DEPS_DIR to it: ${accepted}")
endfunction()

# experiture_dep_extract(NAME): unpacks the archive once per hash into the build tree; sets
# EXPERITURE_<NAME>_SOURCE_DIR to the single top folder inside it (or the folder itself).
function(experiture_dep_extract name)
  set(root "${CMAKE_BINARY_DIR}/_deps/${name}-${EXPERITURE_${name}_SHA256}")
  if(NOT EXISTS "${root}.extracted")
    file(REMOVE_RECURSE "${root}")
    file(ARCHIVE_EXTRACT INPUT "${EXPERITURE_${name}_ARCHIVE}" DESTINATION "${root}")
    file(TOUCH "${root}.extracted")
  endif()
  file(GLOB entries LIST_DIRECTORIES true "${root}/*")
  list(LENGTH entries count)
  if(count EQUAL 1 AND IS_DIRECTORY "${entries}")
    set(EXPERITURE_${name}_SOURCE_DIR "${entries}" PARENT_SCOPE)
  else()
    set(EXPERITURE_${name}_SOURCE_DIR "${root}" PARENT_SCOPE)
  endif()
endfunction()

# ---- SQLite -------------------------------------------------------------------------------------
experiture_dep_locate(sqlite3)
experiture_dep_extract(sqlite3)
if(EXPERITURE_sqlite3_KIND STREQUAL "amalgamation")
  set(EXPERITURE_SQLITE_AMALGAMATION_DIR "${EXPERITURE_sqlite3_SOURCE_DIR}")
else()
  # The full source tree: SQLite's own build generates the amalgamation (sqlite3.c, sqlite3.h).
  # It runs on the build machine (host cc, make, tclsh: Tcl is a build tool here, never linked);
  # the result is plain C for any target, so cross builds compile it with the target compiler.
  set(EXPERITURE_SQLITE_AMALGAMATION_DIR
    "${CMAKE_BINARY_DIR}/_deps/sqlite3-amalgamation-${EXPERITURE_sqlite3_SHA256}")
  if(NOT EXISTS "${EXPERITURE_SQLITE_AMALGAMATION_DIR}/sqlite3.c")
    find_program(EXPERITURE_TCLSH NAMES tclsh tclsh8.6 REQUIRED)
    find_program(EXPERITURE_MAKE NAMES make gmake REQUIRED)
    set(work "${EXPERITURE_SQLITE_AMALGAMATION_DIR}.work")
    file(REMOVE_RECURSE "${work}")
    file(MAKE_DIRECTORY "${work}")
    message(STATUS "Generating the SQLite ${EXPERITURE_sqlite3_VERSION} amalgamation")
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env --unset=CC --unset=CFLAGS --unset=CPPFLAGS --unset=LDFLAGS
              sh "${EXPERITURE_sqlite3_SOURCE_DIR}/configure" --disable-tcl
      WORKING_DIRECTORY "${work}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc EQUAL 0)
      execute_process(
        COMMAND ${CMAKE_COMMAND} -E env --unset=CC --unset=CFLAGS --unset=MAKEFLAGS
                ${EXPERITURE_MAKE} sqlite3.c sqlite3.h
        WORKING_DIRECTORY "${work}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    endif()
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "Generating the SQLite amalgamation failed in ${work}:\n${out}")
    endif()
    file(MAKE_DIRECTORY "${EXPERITURE_SQLITE_AMALGAMATION_DIR}")
    file(COPY "${work}/sqlite3.c" "${work}/sqlite3.h" DESTINATION "${EXPERITURE_SQLITE_AMALGAMATION_DIR}")
    file(REMOVE_RECURSE "${work}")
  endif()
endif()

add_library(experiture_sqlite3 STATIC "${EXPERITURE_SQLITE_AMALGAMATION_DIR}/sqlite3.c")
target_include_directories(experiture_sqlite3 SYSTEM PUBLIC "${EXPERITURE_SQLITE_AMALGAMATION_DIR}")
target_compile_definitions(experiture_sqlite3 PRIVATE
  # Multi-thread mode: a connection is used by one thread at a time (the store thread owns it and
  # opens it with SQLITE_OPEN_NOMUTEX), so per-connection mutexes are not needed; SQLite's global
  # state stays locked.
  SQLITE_THREADSAFE=2
  # An SDK inside someone else's app loads no code at run time.
  SQLITE_OMIT_LOAD_EXTENSION
  # The outbox runs WAL with synchronous=FULL (and NORMAL for relaxed batches): FULL is also the
  # default, so a connection that forgot the pragma still fsyncs each commit.
  SQLITE_DEFAULT_WAL_SYNCHRONOUS=2
  HAVE_USLEEP=1)
set_target_properties(experiture_sqlite3 PROPERTIES
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(experiture_sqlite3 PRIVATE -w)  # third-party code: its warnings are not ours
endif()
target_link_libraries(experiture_sqlite3 PUBLIC Threads::Threads ${CMAKE_DL_LIBS})
if(UNIX AND NOT APPLE)
  target_link_libraries(experiture_sqlite3 PUBLIC m)
endif()
add_library(SQLite::SQLite3 ALIAS experiture_sqlite3)

# ---- mbedTLS (crypto only: no TLS, no X.509, no sockets) -----------------------------------------
experiture_dep_locate(mbedtls)
experiture_dep_extract(mbedtls)
file(GLOB EXPERITURE_MBEDCRYPTO_SOURCES "${EXPERITURE_mbedtls_SOURCE_DIR}/library/*.c")
list(FILTER EXPERITURE_MBEDCRYPTO_SOURCES EXCLUDE REGEX
  "/library/(x509[^/]*|ssl_[^/]*|debug|net_sockets|mps_[^/]*)\\.c$")
add_library(experiture_mbedcrypto_static STATIC ${EXPERITURE_MBEDCRYPTO_SOURCES})
target_include_directories(experiture_mbedcrypto_static SYSTEM PUBLIC "${EXPERITURE_mbedtls_SOURCE_DIR}/include")
target_include_directories(experiture_mbedcrypto_static PRIVATE "${EXPERITURE_mbedtls_SOURCE_DIR}/library")
set_target_properties(experiture_mbedcrypto_static PROPERTIES
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(experiture_mbedcrypto_static PRIVATE -w)
endif()
add_library(experiture_mbedcrypto INTERFACE)
target_link_libraries(experiture_mbedcrypto INTERFACE experiture_mbedcrypto_static)

message(STATUS "Bundled: SQLite ${EXPERITURE_sqlite3_VERSION} (${EXPERITURE_sqlite3_ARCHIVE}), "
  "mbedTLS ${EXPERITURE_mbedtls_VERSION} crypto (${EXPERITURE_mbedtls_ARCHIVE})")
