# CMake package configuration of the PyAwaitable C API backport.
#
#   find_package(pyawaitable_backport CONFIG REQUIRED)
#   target_link_libraries(my_extension PRIVATE pyawaitable_backport::headers)
#
# The C API is one header that reaches the runtime (the Python package)
# through a capsule at import time, so the target only carries the include
# directory: there is no library to link.  scikit-build-core finds this file
# through the package's "cmake.prefix" entry point; other CMake builds pass
# -Dpyawaitable_backport_DIR=$(python -m pyawaitable_backport --cmake-dir).

get_filename_component(pyawaitable_backport_INCLUDE_DIR
                       "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
set(pyawaitable_backport_INCLUDE_DIRS "${pyawaitable_backport_INCLUDE_DIR}")

if(NOT TARGET pyawaitable_backport::headers)
  add_library(pyawaitable_backport::headers INTERFACE IMPORTED)
  set_target_properties(pyawaitable_backport::headers PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${pyawaitable_backport_INCLUDE_DIR}")
endif()
