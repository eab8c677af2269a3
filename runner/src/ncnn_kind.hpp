// The ncnn kind: a single-model job whose "runtime" block names ncnn (a pnnx .param + .bin),
// measured exactly as the ONNX Runtime kinds are (job.hpp's measure(), same series, windows and
// peak), mirroring the agent's run_runtime_single + NcnnAdapter: ncnn has no batch dimension, so a
// batch of N is N extractions per call, stacked. Compiled in only when the build is given a static
// libncnn (CMake NCNN_DIR, built from ncnn's sdist); HARNESS_WITH_NCNN says so.
#pragma once

#include <string>

#include "job.hpp"

namespace runner {

// The runtime name the job's "runtime" block and the probe's "runtimes" use.
constexpr const char* kNcnn = "ncnn";

// The linked library's version ("1.0.20261020", as the ncnn wheel's __version__ says it).
std::string ncnn_version();

// One inference of a built-in model (y = x * x) on the CPU: "ok", or what went wrong.
std::string ncnn_smoke();

// Runs the job on ncnn: load (load_param + load_model, timed as load_ms.model), first inference,
// warm-up and steady samples per feed set; outputs in the ONNX names.
Outputs run_ncnn(Context& ctx);

}  // namespace runner
