// The "runtime" block of a job on a runtime other than ONNX Runtime (OpenVINO, ncnn): its options
// and threads read as the agent's _Adapter and _threads read them, shared by those kinds.
#pragma once

#include <cstdint>
#include <string>

#include "job.hpp"
#include "providers.hpp"  // option_text: Python's str() of an option value

namespace runner {

// The backend's options, then the precision's settings (which win), as the agent's _Adapter.
inline json runtime_options(const json& rt) {
  json options = rt.contains("options") && rt["options"].is_object() ? rt["options"] : json::object();
  if (rt.contains("settings") && rt["settings"].is_object()) {
    for (auto it = rt["settings"].begin(); it != rt["settings"].end(); ++it) options[it.key()] = it.value();
  }
  return options;
}

// The agent's _threads: options.num_threads, else the job's session intra_op_num_threads; 0 = unset.
inline int64_t runtime_threads(const json& job, const json& options) {
  json n = options.contains("num_threads") ? options["num_threads"] : json();
  if (n.is_null()) n = session_of(job).value("intra_op_num_threads", json());
  if (n.is_number()) return n.get<int64_t>();
  if (n.is_string() && !n.get<std::string>().empty()) return std::stoll(n.get<std::string>());
  return 0;
}

}  // namespace runner
