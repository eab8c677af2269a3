// Execution providers by their ORT name, as device profiles write them, and how each one is
// appended to a session. The only place that knows an Android-only EP exists.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string>
#include <vector>

#include "json.hpp"

namespace runner {

// Appends `provider` (e.g. "XnnpackExecutionProvider") with its options to `so`.
// CPUExecutionProvider appends nothing (ORT always has it). Throws std::runtime_error that
// names the provider, what this runner's ONNX Runtime has, and which build brings it.
void append_provider(Ort::SessionOptions& so, const std::string& provider, const json& options);

// Providers this runner knows how to append (whether or not the linked ORT has them).
std::vector<std::string> known_providers();

// Python str() of a JSON scalar, as the agent passes provider options to ORT ("True", "4", "burst").
std::string option_text(const json& v);

}  // namespace runner
