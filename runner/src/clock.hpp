// The two clocks of the protocol, as the Python agent reads them: both are CLOCK_MONOTONIC
// (time.perf_counter and time.monotonic on Linux), so probe timestamps, windows and the
// host's alignment of them mean the same for either runner.
#pragma once

#include <time.h>

namespace runner {

inline double monotonic_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double perf_s() { return monotonic_s(); }

void sleep_s(double seconds);

}  // namespace runner
