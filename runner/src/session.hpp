// ONNX Runtime sessions for a job: options from the job, timed creation, runs by name, and
// EP placement from one profiled run in a separate session (kept out of the timed runs).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "json.hpp"
#include "npz.hpp"

namespace runner {

using Tensor = std::shared_ptr<Ort::Value>;
using Named = std::map<std::string, Tensor>;  // input or output name -> tensor

struct InputMeta {
  std::string name;
  ONNXTensorElementDataType type;
  std::vector<int64_t> shape;  // -1: symbolic or unknown
  std::vector<std::string> symbols;
};

class Model {
 public:
  Model(Ort::Env& env, const std::string& path, Ort::SessionOptions& so);
  Named run(const Named& feeds);  // every output of the model
  const std::vector<InputMeta>& inputs() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return outputs_; }
  bool has_input(const std::string& name) const;
  std::string end_profiling();  // path of the profile JSON

 private:
  Ort::Session session_;
  std::vector<InputMeta> inputs_;
  std::vector<std::string> outputs_;
};

// Session options for `settings` (the job's "session"); `applied` gets what was set.
Ort::SessionOptions session_options(const json& settings, const std::string& provider, const json& provider_options,
                                    json& applied, const std::string& profile_prefix = "");

// Nodes and kernel time per EP from an ORT profile (cat "Node", name "*_kernel_time"),
// EPs in the order the profile first names them (the agent's dict order).
struct Placement {
  std::vector<std::string> order;
  std::map<std::string, std::pair<int64_t, int64_t>> nodes_time_us;
  json to_json() const;  // {ep: {"nodes": n, "time_us": t}}
};
Placement placement_from_profile(const std::string& path);

// What the result's "providers" says, from the placement and the session's providers.
json summarize_providers(const std::string& requested, const std::vector<std::string>& session_providers,
                         const Placement& placement);

// Tensors <-> arrays.
Tensor tensor_from_array(const Array& a);  // views a's bytes: a must outlive the tensor
Tensor owned_tensor(ONNXTensorElementDataType type, const std::vector<int64_t>& shape);
Tensor int64_tensor(const std::vector<int64_t>& values, const std::vector<int64_t>& shape);
Array array_from_tensor(const Ort::Value& v);
Array float32_array(const Ort::Value& v);  // any float tensor, as float32
std::vector<int64_t> tensor_shape(const Ort::Value& v);
std::vector<float> float_row(const Ort::Value& v, int64_t offset, int64_t count);
std::string type_name(ONNXTensorElementDataType t);

}  // namespace runner
