#include "session.hpp"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "providers.hpp"

namespace runner {
namespace {

const std::map<std::string, GraphOptimizationLevel>& opt_levels() {
  static const std::map<std::string, GraphOptimizationLevel> m = {
      {"disable", ORT_DISABLE_ALL},       {"ORT_DISABLE_ALL", ORT_DISABLE_ALL},
      {"basic", ORT_ENABLE_BASIC},        {"ORT_ENABLE_BASIC", ORT_ENABLE_BASIC},
      {"extended", ORT_ENABLE_EXTENDED},  {"ORT_ENABLE_EXTENDED", ORT_ENABLE_EXTENDED},
      {"all", ORT_ENABLE_ALL},            {"ORT_ENABLE_ALL", ORT_ENABLE_ALL},
  };
  return m;
}

struct TypeInfo {
  ONNXTensorElementDataType type;
  const char* descr;
};

const TypeInfo kTypes[] = {
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "<f4"},  {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, "<f2"},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, "<f8"}, {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "<i8"},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "<i4"},  {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, "<i2"},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, "|i1"},   {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, "<u8"},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, "<u4"}, {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, "<u2"},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, "|u1"},  {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "|b1"},
};

ONNXTensorElementDataType type_of_descr(const std::string& descr) {
  std::string d = descr;
  if (!d.empty() && d[0] == '=') d[0] = '<';
  for (const auto& t : kTypes) {
    if (d == t.descr || (d.size() == 3 && d.substr(1) == std::string(t.descr).substr(1))) return t.type;
  }
  throw std::runtime_error("unsupported array dtype '" + descr + "'");
}

const char* descr_of_type(ONNXTensorElementDataType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.descr;
  }
  throw std::runtime_error("unsupported tensor element type " + type_name(type));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

Ort::MemoryInfo& cpu_memory() {
  static Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return info;
}

}  // namespace

std::string type_name(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "tensor(float)";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "tensor(float16)";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "tensor(double)";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "tensor(int64)";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "tensor(int32)";
    default: return "tensor(type " + std::to_string(static_cast<int>(t)) + ")";
  }
}

Model::Model(Ort::Env& env, const std::string& path, Ort::SessionOptions& so) : session_(env, path.c_str(), so) {
  Ort::AllocatorWithDefaultOptions alloc;
  for (size_t i = 0; i < session_.GetInputCount(); ++i) {
    InputMeta m;
    m.name = session_.GetInputNameAllocated(i, alloc).get();
    Ort::TypeInfo info = session_.GetInputTypeInfo(i);
    if (info.GetONNXType() == ONNX_TYPE_TENSOR) {
      auto t = info.GetTensorTypeAndShapeInfo();
      m.type = t.GetElementType();
      m.shape = t.GetShape();
      std::vector<const char*> sym(m.shape.size(), nullptr);
      if (!sym.empty()) t.GetSymbolicDimensions(sym.data(), sym.size());
      for (const char* s : sym) m.symbols.push_back(s ? s : "");
    } else {
      m.type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    }
    inputs_.push_back(m);
  }
  for (size_t i = 0; i < session_.GetOutputCount(); ++i) {
    outputs_.push_back(session_.GetOutputNameAllocated(i, alloc).get());
  }
}

bool Model::has_input(const std::string& name) const {
  for (const auto& m : inputs_) {
    if (m.name == name) return true;
  }
  return false;
}

Named Model::run(const Named& feeds) {
  std::vector<const char*> in_names;
  std::vector<const OrtValue*> in_values;
  for (const auto& kv : feeds) {
    in_names.push_back(kv.first.c_str());
    in_values.push_back(*kv.second);
  }
  std::vector<const char*> out_names;
  for (const auto& n : outputs_) out_names.push_back(n.c_str());
  std::vector<OrtValue*> outs(outputs_.size(), nullptr);
  Ort::ThrowOnError(Ort::GetApi().Run(session_, nullptr, in_names.data(), in_values.data(), in_values.size(),
                                      out_names.data(), out_names.size(), outs.data()));
  Named named;
  for (size_t i = 0; i < outs.size(); ++i) named[outputs_[i]] = std::make_shared<Ort::Value>(outs[i]);
  return named;
}

std::string Model::end_profiling() {
  Ort::AllocatorWithDefaultOptions alloc;
  return session_.EndProfilingAllocated(alloc).get();
}

Ort::SessionOptions session_options(const json& settings, const std::string& provider, const json& provider_options,
                                    json& applied, const std::string& profile_prefix) {
  Ort::SessionOptions so;
  applied = json::object();
  const json s = settings.is_object() ? settings : json::object();
  if (s.contains("intra_op_num_threads") && !s["intra_op_num_threads"].is_null()) {
    const int n = s["intra_op_num_threads"].get<int>();
    so.SetIntraOpNumThreads(n);
    applied["intra_op_num_threads"] = n;
  }
  if (s.contains("inter_op_num_threads") && !s["inter_op_num_threads"].is_null()) {
    const int n = s["inter_op_num_threads"].get<int>();
    so.SetInterOpNumThreads(n);
    applied["inter_op_num_threads"] = n;
  }
  const std::string level =
      s.contains("graph_optimization_level") && !s["graph_optimization_level"].is_null()
          ? s["graph_optimization_level"].get<std::string>()
          : "all";
  const auto lv = opt_levels().find(level);
  if (lv == opt_levels().end()) throw std::runtime_error("unknown graph_optimization_level '" + level + "'");
  so.SetGraphOptimizationLevel(lv->second);
  applied["graph_optimization_level"] = level;
  if (s.contains("allow_spinning") && !s["allow_spinning"].is_null()) {
    const bool spin = s["allow_spinning"].get<bool>();
    so.AddConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
    applied["allow_spinning"] = spin;
  }
  if (!profile_prefix.empty()) so.EnableProfiling(profile_prefix.c_str());
  append_provider(so, provider, provider_options);
  return so;
}

json Placement::to_json() const {
  json out = json::object();
  for (const auto& ep : order) {
    const auto& nt = nodes_time_us.at(ep);
    out[ep] = {{"nodes", nt.first}, {"time_us", nt.second}};
  }
  return out;
}

Placement placement_from_profile(const std::string& path) {
  Placement placement;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read the ORT profile " + path);
  const json events = json::parse(f, nullptr, true, true);
  const std::string suffix = "_kernel_time";
  for (const auto& ev : events) {
    if (!ev.is_object() || ev.value("cat", "") != "Node") continue;
    const std::string name = ev.value("name", "");
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string ep = "unknown";
    if (ev.contains("args") && ev["args"].is_object() && ev["args"].contains("provider")) {
      ep = ev["args"]["provider"].get<std::string>();
    }
    if (!placement.nodes_time_us.count(ep)) placement.order.push_back(ep);
    auto& slot = placement.nodes_time_us[ep];
    slot.first += 1;
    slot.second += ev.contains("dur") && ev["dur"].is_number() ? ev["dur"].get<int64_t>() : 0;
  }
  return placement;
}

json summarize_providers(const std::string& requested, const std::vector<std::string>& session_providers,
                         const Placement& placement) {
  int64_t total = 0;
  std::string used;
  int64_t most = -1;
  for (const auto& ep : placement.order) {
    const int64_t n = placement.nodes_time_us.at(ep).first;
    total += n;
    if (n > most) {  // the first of the largest, as Python's max() picks
      most = n;
      used = ep;
    }
  }
  if (placement.order.empty()) used = session_providers.front();
  json frac = nullptr;
  double f = 0.0;
  if (total) {
    const auto it = placement.nodes_time_us.find(requested);
    const int64_t on_req = it == placement.nodes_time_us.end() ? 0 : it->second.first;
    f = static_cast<double>(on_req) / static_cast<double>(total);
    frac = f;
  }
  const bool only = session_providers.size() == 1 && session_providers.front() == requested;
  if (placement.order.empty() && only) {
    f = 1.0;  // a single provider ran every node: nothing was profiled
    frac = f;
  }
  bool in_session = false;
  for (const auto& p : session_providers) in_session = in_session || p == requested;
  const bool fallback = !in_session || (!frac.is_null() && f < 0.5);
  const char* method = !placement.order.empty() ? "profiled run" : (only ? "single provider" : "unknown");
  return {
      {"requested", requested},         {"available", Ort::GetAvailableProviders()},
      {"session", session_providers},   {"placement", placement.to_json()},
      {"used", used},                   {"fallback", fallback},
      {"requested_fraction", frac},     {"placement_method", method},
  };
}

Tensor tensor_from_array(const Array& a) {
  const ONNXTensorElementDataType type = type_of_descr(a.descr);
  return std::make_shared<Ort::Value>(Ort::Value::CreateTensor(cpu_memory(), const_cast<uint8_t*>(a.data.data()),
                                                               a.data.size(), a.shape.data(), a.shape.size(), type));
}

Tensor owned_tensor(ONNXTensorElementDataType type, const std::vector<int64_t>& shape) {
  Ort::AllocatorWithDefaultOptions alloc;
  auto v = std::make_shared<Ort::Value>(Ort::Value::CreateTensor(alloc, shape.data(), shape.size(), type));
  const size_t bytes = static_cast<size_t>(Array{descr_of_type(type), shape, {}}.size()) *
                       descr_itemsize(descr_of_type(type));
  if (bytes) std::memset(v->GetTensorMutableRawData(), 0, bytes);
  return v;
}

Tensor int64_tensor(const std::vector<int64_t>& values, const std::vector<int64_t>& shape) {
  Tensor t = owned_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, shape);
  if (!values.empty()) std::memcpy(t->GetTensorMutableRawData(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

std::vector<int64_t> tensor_shape(const Ort::Value& v) { return v.GetTensorTypeAndShapeInfo().GetShape(); }

Array array_from_tensor(const Ort::Value& v) {
  const auto info = v.GetTensorTypeAndShapeInfo();
  Array a;
  a.descr = descr_of_type(info.GetElementType());
  a.shape = info.GetShape();
  const size_t bytes = static_cast<size_t>(a.size()) * a.itemsize();
  const auto* p = static_cast<const uint8_t*>(v.GetTensorRawData());
  a.data.assign(p, p + bytes);
  return a;
}

std::vector<float> float_row(const Ort::Value& v, int64_t offset, int64_t count) {
  const auto type = v.GetTensorTypeAndShapeInfo().GetElementType();
  std::vector<float> out(static_cast<size_t>(count));
  const void* raw = v.GetTensorRawData();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = offset + i;
    switch (type) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: out[i] = static_cast<const float*>(raw)[k]; break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: out[i] = static_cast<float>(static_cast<const double*>(raw)[k]); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: out[i] = half_to_float(static_cast<const uint16_t*>(raw)[k]); break;
      default: throw std::runtime_error("expected a float tensor, got " + type_name(type));
    }
  }
  return out;
}

Array float32_array(const Ort::Value& v) {
  Array a;
  a.descr = "<f4";
  a.shape = tensor_shape(v);
  const std::vector<float> values = float_row(v, 0, a.size());
  a.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

}  // namespace runner
