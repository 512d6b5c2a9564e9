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
# The prefix is worked out from where this file is, so an installed tree
# can be moved or staged with DESTDIR and still be found.

get_filename_component(_dtlsgate_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

foreach(_dtlsgate_file include/dtlsgate.h lib/libdtlsgate.so.0 lib/libdtlsgate.a)
  if(NOT EXISTS "${_dtlsgate_prefix}/${_dtlsgate_file}")
    set(dtlsgate_FOUND FALSE)
    set(dtlsgate_NOT_FOUND_MESSAGE "${_dtlsgate_prefix}/${_dtlsgate_file} is missing")
    return()
  endif()
endforeach()

if(NOT TARGET dtlsgate::dtlsgate)
  add_library(dtlsgate::dtlsgate SHARED IMPORTED)
  set_target_properties(dtlsgate::dtlsgate PROPERTIES
    IMPORTED_LOCATION "${_dtlsgate_prefix}/lib/libdtlsgate.so.0"
    IMPORTED_SONAME "libdtlsgate.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${_dtlsgate_prefix}/include")
endif()

if(NOT TARGET dtlsgate::dtlsgate_static)
  # The Go runtime inside the archive needs threads and the resolver.
  include(CMakeFindDependencyMacro)
  find_dependency(Threads)
  add_library(dtlsgate::dtlsgate_static STATIC IMPORTED)
  set_target_properties(dtlsgate::dtlsgate_static PROPERTIES
    IMPORTED_LOCATION "${_dtlsgate_prefix}/lib/libdtlsgate.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_dtlsgate_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;resolv")
endif()

unset(_dtlsgate_prefix)
unset(_dtlsgate_file)
