#include "ncnn_kind.hpp"

#include <ncnn/datareader.h>
#include <ncnn/net.h>

#include <cstring>

#include "clock.hpp"
#include "runtime_options.hpp"

namespace runner {
namespace {

// Python's bool() of an option value.
bool py_bool(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0.0;
  if (v.is_string()) return !v.get<std::string>().empty();
  return !v.is_null() && !v.empty();
}

// Weights for layers that have none: load_model() must still run (it creates the pipelines).
class NoWeights : public ncnn::DataReader {
 public:
  int scan(const char*, void*) const override { return 0; }
  size_t read(void* buf, size_t size) const override {
    std::memset(buf, 0, size);
    return size;
  }
};

struct Io {
  std::string onnx, artifact;
};

// The job's io map for one side ({"onnx", "artifact", "layout"}); ncnn artifacts keep the ONNX layout.
std::vector<Io> io_of(const json& rt, const char* side) {
  std::vector<Io> out;
  const json io = rt.contains("io") && rt["io"].is_object() ? rt["io"] : json::object();
  for (const auto& t : io.value(side, json::array())) {
    if (t.contains("perm") && !t["perm"].is_null() && !t["perm"].empty()) {
      throw JobError("ValueError", std::string("io ") + side + " '" + t.value("onnx", std::string("?")) +
                                       "' has a layout permutation: pnnx keeps the ONNX layout for ncnn");
    }
    out.push_back({t.at("onnx").get<std::string>(), t.value("artifact", t.at("onnx").get<std::string>())});
  }
  return out;
}

// Item i of a batched float32 array (its first axis dropped) as an ncnn Mat, as ncnn.Mat(arr[i]):
// 1-4 dims are (w), (h, w), (c, h, w), (c, d, h, w); channels are cstep-aligned, so copied one by one.
ncnn::Mat mat_of(const Array& a, int64_t i, const std::string& name) {
  if (a.descr != "<f4") {
    throw JobError("ValueError", "input '" + name + "': ncnn takes float32 feeds, not dtype '" + a.descr + "'");
  }
  std::vector<int> dims(a.shape.begin() + 1, a.shape.end());
  ncnn::Mat m;
  switch (dims.size()) {
    case 1: m.create(dims[0], size_t{4}); break;
    case 2: m.create(dims[1], dims[0], size_t{4}); break;
    case 3: m.create(dims[2], dims[1], dims[0], size_t{4}); break;
    case 4: m.create(dims[3], dims[2], dims[1], dims[0], size_t{4}); break;
    default:
      throw JobError("ValueError", "input '" + name + "': ncnn takes 2 to 5 dims (batch first), not " +
                                       std::to_string(a.shape.size()));
  }
  if (m.empty()) throw JobError("MemoryError", "input '" + name + "': ncnn could not allocate it");
  const size_t plane = static_cast<size_t>(m.w) * m.h * m.d;  // floats per channel
  const float* src = reinterpret_cast<const float*>(a.data.data()) + i * plane * m.c;
  for (int q = 0; q < m.c; ++q) std::memcpy(m.channel(q), src + q * plane, plane * sizeof(float));
  return m;
}

// The shape numpy gives an extracted Mat, np.array(mat): (w), (h, w), (c, h, w), (c, d, h, w).
std::vector<int64_t> shape_of(const ncnn::Mat& m) {
  switch (m.dims) {
    case 1: return {m.w};
    case 2: return {m.h, m.w};
    case 3: return {m.c, m.h, m.w};
    default: return {m.c, m.d, m.h, m.w};
  }
}

// The agent's np.stack of one output over the batch's extractions.
Array stacked(const std::vector<ncnn::Mat>& items, const std::string& name) {
  Array a;
  a.descr = "<f4";
  a.shape = {static_cast<int64_t>(items.size())};
  const std::vector<int64_t> each = shape_of(items.front());
  a.shape.insert(a.shape.end(), each.begin(), each.end());
  for (const auto& m : items) {
    if (m.elemsize != 4 || m.elempack != 1 || shape_of(m) != each) {
      throw JobError("ValueError", "output '" + name + "': ncnn returned items of different shapes or types");
    }
    const size_t plane = static_cast<size_t>(m.w) * m.h * m.d * sizeof(float);
    for (int q = 0; q < m.c; ++q) {
      const auto* p = static_cast<const uint8_t*>(static_cast<const void*>(m.channel(q)));
      a.data.insert(a.data.end(), p, p + plane);
    }
  }
  return a;
}

}  // namespace

std::string ncnn_version() { return NCNN_VERSION_STRING; }

std::string ncnn_smoke() {
  static const char kParam[] =
      "7767517\n3 4\n"
      "Input x 0 1 x 0=4\n"
      "Split split 1 2 x x0 x1\n"
      "BinaryOp mul 2 1 x0 x1 y 0=2\n";
  ncnn::Net net;
  net.opt.use_vulkan_compute = false;
  net.opt.num_threads = 1;
  if (net.load_param_mem(kParam) != 0 || net.load_model(NoWeights()) != 0) return "could not load the smoke model";
  ncnn::Mat x(4);
  for (int i = 0; i < 4; ++i) x[i] = static_cast<float>(i + 1);
  ncnn::Extractor ex = net.create_extractor();
  ncnn::Mat y;
  if (ex.input("x", x) != 0 || ex.extract("y", y) != 0) return "extract failed";
  return y.w == 4 && y[3] == 16.0f ? "ok" : "wrong result";
}

Outputs run_ncnn(Context& ctx) {
  const json& job = ctx.job;
  const json& rt = job["runtime"];
  if (params_of(job).contains("feedback") && !params_of(job)["feedback"].empty()) {
    throw JobError("ValueError", "params.feedback (stateful models) is run on onnxruntime only, not ncnn");
  }
  const json options = runtime_options(rt);
  if (options.contains("use_vulkan_compute") && py_bool(options["use_vulkan_compute"])) {
    throw JobError("ValueError", "use_vulkan_compute: this native runner's ncnn is built for the CPU only "
                                 "(NCNN_VULKAN=OFF); run Vulkan through the Python agent's ncnn wheel");
  }
  if (!job.contains("models") || !job["models"].is_object() || !job["models"].contains("model")) {
    throw JobError("KeyError", "'model'");
  }
  if (!job["models"].contains("weights")) throw JobError("KeyError", "'weights'");
  const std::string param = job["models"]["model"].get<std::string>();
  const std::string weights = job["models"]["weights"].get<std::string>();

  const double t0 = perf_s();
  ncnn::Net net;
  net.opt.use_vulkan_compute = false;
  if (options.contains("lightmode") && !options["lightmode"].is_null()) net.opt.lightmode = py_bool(options["lightmode"]);
  if (const int64_t n = runtime_threads(job, options)) net.opt.num_threads = static_cast<int>(n);
  if (options.contains("use_fp16_storage")) net.opt.use_fp16_storage = py_bool(options["use_fp16_storage"]);
  if (options.contains("use_fp16_packed")) net.opt.use_fp16_packed = py_bool(options["use_fp16_packed"]);
  if (options.contains("use_fp16_arithmetic")) net.opt.use_fp16_arithmetic = py_bool(options["use_fp16_arithmetic"]);
  if (net.load_param(param.c_str()) != 0 || net.load_model(weights.c_str()) != 0) {
    throw JobError("RuntimeError", "ncnn could not load " + param + " / " + weights);
  }
  const double load_ms = (perf_s() - t0) * 1000.0;
  ctx.watch += load_ms / 1000.0;
  ctx.result["load_ms"]["model"] = load_ms;
  ctx.result["session"] = {{"num_threads", net.opt.num_threads}, {"use_vulkan_compute", net.opt.use_vulkan_compute},
                           {"use_fp16_storage", net.opt.use_fp16_storage},
                           {"use_fp16_arithmetic", net.opt.use_fp16_arithmetic}};
  ctx.result["env"]["runtimes"] = {{kNcnn, ncnn_version()}};

  const std::vector<Io> inputs = io_of(rt, "inputs");
  const std::vector<Io> outputs_map = io_of(rt, "outputs");
  if (inputs.empty() || outputs_map.empty()) {
    throw JobError("ValueError", "the job's runtime.io names no ncnn inputs or outputs (pnnx's in0/out0)");
  }
  const FeedArrays feed_sets = require_feed_sets(job, "");
  Outputs outputs;
  const double slowdown = ctx.slowdown();
  for (const auto& set : feed_sets) {
    const std::string& label = set.first;
    std::vector<const Array*> arrays;
    for (const auto& t : inputs) {
      const auto it = set.second.find(t.onnx);
      if (it == set.second.end()) throw JobError("KeyError", "'" + t.onnx + "'");
      arrays.push_back(&it->second);
    }
    const int64_t batch = arrays[0]->shape.size() >= 2 ? arrays[0]->shape[0] : 1;
    // prepared before the timed calls, as the agent's prepare(): one Mat per input per batch item
    std::vector<std::vector<ncnn::Mat>> items(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) {
      for (size_t k = 0; k < inputs.size(); ++k) items[i].push_back(mat_of(*arrays[k], i, inputs[k].onnx));
    }
    std::vector<std::vector<ncnn::Mat>> got(outputs_map.size(), std::vector<ncnn::Mat>(items.size()));
    auto once = [&] {  // the agent's NcnnAdapter.run: an extractor per batch item
      for (size_t i = 0; i < items.size(); ++i) {
        ncnn::Extractor ex = net.create_extractor();
        for (size_t k = 0; k < inputs.size(); ++k) ex.input(inputs[k].artifact.c_str(), items[i][k]);
        for (size_t o = 0; o < outputs_map.size(); ++o) {
          const int ret = ex.extract(outputs_map[o].artifact.c_str(), got[o][i]);
          if (ret != 0) {
            throw JobError("RuntimeError", "ncnn extract '" + outputs_map[o].artifact + "' failed (" +
                                               std::to_string(ret) + ")");
          }
        }
      }
    };
    const double f0 = perf_s();
    once();
    const double first_ms = (perf_s() - f0) * 1000.0;
    ctx.watch += first_ms / 1000.0;
    ctx.result["first_inference_ms"][label.empty() ? "default" : label] = first_ms;
    for (size_t o = 0; o < outputs_map.size(); ++o) {
      put(outputs, label + "/" + outputs_map[o].onnx, stacked(got[o], outputs_map[o].onnx));
    }
    const Measured m = measure(once, measure_of(job), slowdown, ctx);
    const std::string series = series_name("latency_ms", label);
    ctx.result["series"][series] = {
        {"unit", "ms"}, {"samples", m.samples_ms}, {"warmup_n", m.warmup_n}, {"stopped_by", m.stopped_by}};
    ctx.steady_window(series, m.w0, m.w1);
  }
  ctx.take_peak();
  const std::string requested = std::string(kNcnn) + ":CPU";
  ctx.result["providers"] = {{"requested", requested}, {"available", {requested}},
                             {"session", {requested}}, {"placement", json::object()},
                             {"used", requested}, {"fallback", false},
                             {"requested_fraction", 1.0}, {"placement_method", "single provider"}};
  return outputs;
}

}  // namespace runner
