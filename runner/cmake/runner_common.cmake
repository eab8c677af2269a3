# What both runners build with (ort_runner: runner/CMakeLists.txt; llm_runner: runner/llm/CMakeLists.txt):
# C++17 without extensions, Release unless told, the JSON headers and the target and version --probe
# reports, and (harness_runner_settings) warnings, threads and the bundle's lib/ beside bin/ as rpath.
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

set(JSON_INCLUDE_DIR "" CACHE PATH "folder holding nlohmann/json.hpp")
set(HARNESS_RUNNER_TARGET "unknown" CACHE STRING "linux-x86_64 | linux-aarch64 | android-arm64")
set(HARNESS_RUNNER_VERSION "dev" CACHE STRING "source hash, reported by --probe")
find_package(Threads REQUIRED)

# Stop at the first of the named variables that is empty, naming what sets them (`how`).
function(harness_require how)
  foreach(var ${ARGN})
    if(NOT ${var})
      message(FATAL_ERROR "set -D${var}=... (${how} does)")
    endif()
  endforeach()
endfunction()

# The settings every runner executable has; called last, so threads link after the runtime's libraries.
function(harness_runner_settings target)
  target_compile_definitions(${target} PRIVATE
    HARNESS_RUNNER_TARGET="${HARNESS_RUNNER_TARGET}"
    HARNESS_RUNNER_VERSION="${HARNESS_RUNNER_VERSION}")
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_link_libraries(${target} PRIVATE Threads::Threads)
  # libraries travel in the bundle's lib/, beside bin/
  set_target_properties(${target} PROPERTIES BUILD_RPATH "\$ORIGIN/../lib" INSTALL_RPATH "\$ORIGIN/../lib")
endfunction()
