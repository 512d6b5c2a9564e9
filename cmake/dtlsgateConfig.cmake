# SPDX-License-Identifier: MIT
# CMake package of dtlsgate, installed in <prefix>/lib/cmake/dtlsgate/ by
# `make install`. Use:
#
#   find_package(dtlsgate 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE dtlsgate::dtlsgate)          # libdtlsgate.so
#   target_link_libraries(app PRIVATE dtlsgate::dtlsgate_static)   # libdtlsgate.a
#
# Both targets carry the include directory that holds dtlsgate.h (C),
# dtlsgate.hpp (C++17) and dtlsgate_qt.hpp (C++17 with Qt6::Network, which
# the application links itself). Link one of the two, never both: a process
# holds one Go runtime.
#
# A Qt program links dtlsgate::qt instead: the shared library, Qt6::Network
# (find_package(Qt6 COMPONENTS Network) first), and dtlsgate_qt.hpp as a
# source of the program, so that with AUTOMOC on, moc compiles the
# adapter's QDtls signals into it:
#
#   set(CMAKE_AUTOMOC ON)
#   target_link_libraries(app PRIVATE dtlsgate::qt)
#
# Link dtlsgate::qt into one target per program (moc's output defines
# QDtls's meta-object, which must exist once).
#
# The directories are worked out from where this file is, so an installed
# tree can be moved or staged with DESTDIR and still be found. This file is
# in <libdir>/cmake/dtlsgate; <libdir> is <prefix>/lib, or
# <prefix>/lib/<triplet> on Debian.

get_filename_component(_dtlsgate_libdir "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
get_filename_component(_dtlsgate_prefix "${_dtlsgate_libdir}/.." ABSOLUTE)
if(NOT EXISTS "${_dtlsgate_prefix}/include/dtlsgate.h")
  get_filename_component(_dtlsgate_prefix "${_dtlsgate_libdir}/../.." ABSOLUTE)
endif()

foreach(_dtlsgate_file "${_dtlsgate_prefix}/include/dtlsgate.h"
    "${_dtlsgate_libdir}/libdtlsgate.so.0" "${_dtlsgate_libdir}/libdtlsgate.a")
  if(NOT EXISTS "${_dtlsgate_file}")
    set(dtlsgate_FOUND FALSE)
    set(dtlsgate_NOT_FOUND_MESSAGE "${_dtlsgate_file} is missing")
    return()
  endif()
endforeach()

if(NOT TARGET dtlsgate::dtlsgate)
  add_library(dtlsgate::dtlsgate SHARED IMPORTED)
  set_target_properties(dtlsgate::dtlsgate PROPERTIES
    IMPORTED_LOCATION "${_dtlsgate_libdir}/libdtlsgate.so.0"
    IMPORTED_SONAME "libdtlsgate.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${_dtlsgate_prefix}/include")
endif()

if(NOT TARGET dtlsgate::dtlsgate_static)
  # The Go runtime inside the archive needs threads and the resolver.
  include(CMakeFindDependencyMacro)
  find_dependency(Threads)
  add_library(dtlsgate::dtlsgate_static STATIC IMPORTED)
  set_target_properties(dtlsgate::dtlsgate_static PROPERTIES
    IMPORTED_LOCATION "${_dtlsgate_libdir}/libdtlsgate.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_dtlsgate_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;resolv")
endif()

if(NOT TARGET dtlsgate::qt)
  add_library(dtlsgate::qt INTERFACE IMPORTED)
  set_target_properties(dtlsgate::qt PROPERTIES
    INTERFACE_SOURCES "${_dtlsgate_prefix}/include/dtlsgate_qt.hpp"
    INTERFACE_LINK_LIBRARIES "dtlsgate::dtlsgate;Qt6::Network")
endif()

unset(_dtlsgate_prefix)
unset(_dtlsgate_libdir)
unset(_dtlsgate_file)
