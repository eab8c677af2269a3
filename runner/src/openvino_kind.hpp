// The OpenVINO kind: a single-model job whose "runtime" block names openvino, measured exactly as
// the ONNX Runtime kinds are (job.hpp's measure(), same series, windows and peak), mirroring the
// agent's run_runtime_single + OpenVinoAdapter. Compiled in only when the build is given the
// openvino wheel's headers and libraries (CMake OPENVINO_DIR); HARNESS_WITH_OPENVINO says so.
#pragma once

#include <string>

#include "job.hpp"

namespace runner {

// The runtime name the job's "runtime" block and the probe's "runtimes" use.
constexpr const char* kOpenVino = "openvino";

// The linked library's version: "2026.4.1" (the wheel's, as the agent's probe says it), or with
// full, its build number ("2026.4.1-22982-...", as the agent's job result says it).
std::string openvino_version(bool full = false);

// One inference of a built-in model (y = x * x) on the CPU plugin: "ok", or what went wrong.
std::string openvino_smoke();

// Runs the job on OpenVINO: load (read_model + compile_model, timed as load_ms.model), first
// inference, warm-up and steady samples per feed set; outputs in the ONNX names.
Outputs run_openvino(Context& ctx);

}  // namespace runner
