#include "openvino_kind.hpp"

#include <algorithm>
#include <openvino/op/multiply.hpp>
#include <openvino/op/parameter.hpp>
#include <openvino/openvino.hpp>

#include "clock.hpp"
#include "runtime_options.hpp"

namespace runner {
namespace {

struct Dtype {
  const char* descr;
  ov::element::Type type;
};

// NumPy descr <-> OpenVINO element type, for what jobs feed and models return.
const Dtype kDtypes[] = {
    {"<f4", ov::element::f32}, {"<f2", ov::element::f16}, {"<f8", ov::element::f64}, {"<i8", ov::element::i64},
    {"<i4", ov::element::i32}, {"<i2", ov::element::i16}, {"|i1", ov::element::i8},  {"|u1", ov::element::u8},
    {"<u2", ov::element::u16}, {"<u4", ov::element::u32}, {"<u8", ov::element::u64}, {"|b1", ov::element::boolean},
};

ov::element::Type element_of(const std::string& descr, const std::string& what) {
  for (const auto& d : kDtypes) {
    if (descr == d.descr) return d.type;
  }
  throw JobError("ValueError", what + ": dtype '" + descr + "' has no OpenVINO element type");
}

std::string descr_of(const ov::element::Type& type, const std::string& what) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return d.descr;
  }
  throw JobError("ValueError", what + ": OpenVINO element type " + type.get_type_name() + " has no NumPy dtype");
}

// [{"onnx": name, "artifact": name, "perm": [...]}] of the job's io map.
std::vector<std::pair<std::string, std::string>> io_names(const json& rt, const char* side) {
  std::vector<std::pair<std::string, std::string>> out;
  const json io = rt.contains("io") && rt["io"].is_object() ? rt["io"] : json::object();
  for (const auto& t : io.value(side, json::array())) {
    if (t.contains("perm") && !t["perm"].is_null() && !t["perm"].empty()) {
      throw JobError("ValueError", std::string("io ") + side + " '" + t.value("onnx", std::string("?")) +
                                       "' has a layout permutation: OpenVINO reads the ONNX model in its own layout");
    }
    out.emplace_back(t.at("onnx").get<std::string>(), t.value("artifact", t.at("onnx").get<std::string>()));
  }
  return out;
}

// A tensor over the array's bytes (no copy): the array must outlive it.
ov::Tensor tensor_over(const Array& a, const std::string& name) {
  ov::Shape shape;
  for (int64_t d : a.shape) shape.push_back(static_cast<size_t>(d));
  return ov::Tensor(element_of(a.descr, "input '" + name + "'"), shape, const_cast<uint8_t*>(a.data.data()));
}

Array array_of(const ov::Tensor& t, const std::string& name) {
  Array a;
  a.descr = descr_of(t.get_element_type(), "output '" + name + "'");
  for (size_t d : t.get_shape()) a.shape.push_back(static_cast<int64_t>(d));
  const auto* p = static_cast<const uint8_t*>(t.data());
  a.data.assign(p, p + t.get_byte_size());
  return a;
}

}  // namespace

std::string openvino_version(bool full) {
  const std::string build = ov::get_openvino_version().buildNumber;
  return full ? build : build.substr(0, build.find('-'));
}

std::string openvino_smoke() {
  auto x = std::make_shared<ov::op::v0::Parameter>(ov::element::f32, ov::Shape{1, 4});
  auto y = std::make_shared<ov::op::v1::Multiply>(x, x);
  auto model = std::make_shared<ov::Model>(ov::OutputVector{y}, ov::ParameterVector{x}, "harness-probe");
  ov::Core core;
  ov::InferRequest request = core.compile_model(model, "CPU", ov::AnyMap{{"INFERENCE_NUM_THREADS", 1}})
                                 .create_infer_request();
  float in[4] = {1, 2, 3, 4};
  request.set_input_tensor(ov::Tensor(ov::element::f32, ov::Shape{1, 4}, in));
  request.infer();
  const float* out = request.get_output_tensor().data<const float>();
  return out[3] == 16.0f ? "ok" : "wrong result";
}

Outputs run_openvino(Context& ctx) {
  const json& job = ctx.job;
  const json& rt = job["runtime"];
  if (params_of(job).contains("feedback") && !params_of(job)["feedback"].empty()) {
    throw JobError("ValueError", "params.feedback (stateful models) is run on onnxruntime only, not openvino");
  }
  const json options = runtime_options(rt);
  const std::string device = options.contains("device") ? option_text(options["device"]) : "CPU";
  ov::AnyMap config{{"PERFORMANCE_HINT", options.contains("performance_hint") ? option_text(options["performance_hint"])
                                                                                 : std::string("LATENCY")}};
  if (const int64_t n = runtime_threads(job, options)) config["INFERENCE_NUM_THREADS"] = static_cast<int32_t>(n);
  if (options.contains("INFERENCE_PRECISION_HINT") && !option_text(options["INFERENCE_PRECISION_HINT"]).empty()) {
    config["INFERENCE_PRECISION_HINT"] = option_text(options["INFERENCE_PRECISION_HINT"]);
  }
  if (!job.contains("models") || !job["models"].is_object() || !job["models"].contains("model")) {
    throw JobError("KeyError", "'model'");
  }
  const std::string path = job["models"]["model"].get<std::string>();

  const double t0 = perf_s();
  ov::Core core;
  ov::CompiledModel compiled = core.compile_model(core.read_model(path), device, config);
  ov::InferRequest request = compiled.create_infer_request();
  const double load_ms = (perf_s() - t0) * 1000.0;
  ctx.watch += load_ms / 1000.0;
  ctx.result["load_ms"]["model"] = load_ms;
  json applied = {{"device", device}};
  for (const char* key : {"INFERENCE_PRECISION_HINT", "INFERENCE_NUM_THREADS", "PERFORMANCE_HINT"}) {
    try {
      applied[key] = compiled.get_property(key).as<std::string>();
    } catch (const std::exception&) {  // a device without the property
    }
  }
  ctx.result["session"] = applied;
  ctx.result["env"]["runtimes"] = {{kOpenVino, openvino_version(true)}};

  std::vector<std::string> names;  // the compiled model's outputs, in order
  for (const auto& out : compiled.outputs()) names.push_back(out.get_any_name());
  auto inputs = io_names(rt, "inputs");
  auto outputs_map = io_names(rt, "outputs");
  if (outputs_map.empty()) {
    for (const auto& n : names) outputs_map.emplace_back(n, n);
  }

  const FeedArrays feed_sets = require_feed_sets(job, "");
  Outputs outputs;
  const double slowdown = ctx.slowdown();
  for (const auto& set : feed_sets) {
    const std::string& label = set.first;
    std::vector<std::pair<std::string, std::string>> feeds = inputs;
    if (feeds.empty()) {
      for (const auto& kv : set.second) feeds.emplace_back(kv.first, kv.first);
    }
    for (const auto& f : feeds) {  // set before the timed calls, as a bare loop over the API would
      const auto it = set.second.find(f.first);
      if (it == set.second.end()) throw JobError("KeyError", "'" + f.first + "'");
      request.set_tensor(f.second, tensor_over(it->second, f.first));
    }
    const double f0 = perf_s();
    request.infer();
    const double first_ms = (perf_s() - f0) * 1000.0;
    ctx.watch += first_ms / 1000.0;
    ctx.result["first_inference_ms"][label.empty() ? "default" : label] = first_ms;
    for (size_t i = 0; i < outputs_map.size(); ++i) {
      const auto& o = outputs_map[i];
      const auto it = std::find(names.begin(), names.end(), o.second);
      const size_t index = it != names.end() ? static_cast<size_t>(it - names.begin()) : i;
      if (index >= names.size()) throw JobError("KeyError", "'" + o.second + "'");
      put(outputs, label + "/" + o.first, array_of(request.get_output_tensor(index), o.first));
    }
    const Measured m = measure([&] { request.infer(); }, measure_of(job), slowdown, ctx);
    const std::string series = series_name("latency_ms", label);
    ctx.result["series"][series] = {
        {"unit", "ms"}, {"samples", m.samples_ms}, {"warmup_n", m.warmup_n}, {"stopped_by", m.stopped_by}};
    ctx.steady_window(series, m.w0, m.w1);
  }
  ctx.take_peak();
  const std::string requested = std::string(kOpenVino) + ":" + device;
  json available = json::array();
  for (const auto& d : core.get_available_devices()) available.push_back(std::string(kOpenVino) + ":" + d);
  ctx.result["providers"] = {{"requested", requested}, {"available", available},
                             {"session", {requested}}, {"placement", json::object()},
                             {"used", requested}, {"fallback", false},
                             {"requested_fraction", 1.0}, {"placement_method", "single provider"}};
  return outputs;
}

}  // namespace runner
