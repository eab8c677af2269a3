// The facts every runner's --probe and result env start from: which runner and source hash, the target it
// was built for (both from CMake: runner/cmake/runner_common.cmake), uname's platform and machine, the pid.
#pragma once

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "json.hpp"

#ifndef HARNESS_RUNNER_TARGET
#define HARNESS_RUNNER_TARGET "unknown"
#endif
#ifndef HARNESS_RUNNER_VERSION
#define HARNESS_RUNNER_VERSION "dev"
#endif

namespace runner {

// ``runner``: "native" (ort_runner) or "native-llm" (llm_runner), reported with the source hash.
inline json runner_facts(const std::string& runner) {
  utsname u{};
  uname(&u);
  return {
      {"runner", runner + " " + HARNESS_RUNNER_VERSION},
      {"target", HARNESS_RUNNER_TARGET},
      {"platform", std::string(u.sysname) + "-" + u.release + "-" + u.machine},
      {"machine", u.machine},
      {"pid", static_cast<int64_t>(getpid())},
  };
}

}  // namespace runner
