#include "providers.hpp"

#include "ort_library.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <unordered_map>

#ifdef __ANDROID__
#include <nnapi_provider_factory.h>
#endif

namespace runner {
namespace {

using Options = std::unordered_map<std::string, std::string>;
using Appender = std::function<void(Ort::SessionOptions&, const Options&)>;

struct Entry {
  Appender append;
  const char* brought_by;  // which ONNX Runtime build has this EP (for the error message)
};

void check(OrtStatus* status) {
  if (status != nullptr) {
    const std::string msg = Ort::GetApi().GetErrorMessage(status);
    Ort::GetApi().ReleaseStatus(status);
    throw std::runtime_error(msg);
  }
}

// EPs with a string-keyed V2 options object (CUDA, TensorRT).
template <typename Create, typename Update, typename Append, typename Release>
void append_v2(Ort::SessionOptions& so, const Options& opts, Create create, Update update, Append append,
               Release release) {
  auto* handle = create();
  std::vector<const char*> keys, values;
  for (const auto& kv : opts) {
    keys.push_back(kv.first.c_str());
    values.push_back(kv.second.c_str());
  }
  try {
    check(update(handle, keys.data(), values.data(), keys.size()));
    check(append(so, handle));
  } catch (...) {
    release(handle);
    throw;
  }
  release(handle);
}

#ifdef __ANDROID__
bool truthy(const std::string& v) { return v == "1" || v == "True" || v == "true" || v == "TRUE"; }
#endif

const std::map<std::string, Entry>& table() {
  static const std::map<std::string, Entry> t = {
      {"XnnpackExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("XNNPACK", o); },
        "the android-arm64 build (ORT's Android AAR)"}},
      {"QNNExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("QNN", o); },
        "an ONNX Runtime built with QNN (e.g. the onnxruntime-android-qnn AAR) in an android-arm64 build"}},
      {"SNPEExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("SNPE", o); },
        "an ONNX Runtime built with SNPE"}},
      {"CoreMLExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("CoreML", o); },
        "the macOS/iOS ONNX Runtime"}},
      {"AzureExecutionProvider",  // in every ORT wheel; runs nothing locally (a non-CPU EP to place against)
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("AZURE", o); },
        "the ONNX Runtime wheels"}},
      {"WebGpuExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider("WebGPU", o); },
        "an ONNX Runtime built with WebGPU"}},
      {"OpenVINOExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider_OpenVINO_V2(o); },
        "an ONNX Runtime built with OpenVINO"}},
      {"VitisAIExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) { so.AppendExecutionProvider_VitisAI(o); },
        "an ONNX Runtime built with Vitis AI"}},
      {"CUDAExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) {
          const OrtApi& api = Ort::GetApi();
          append_v2(
              so, o,
              [&api] {
                OrtCUDAProviderOptionsV2* h = nullptr;
                check(api.CreateCUDAProviderOptions(&h));
                return h;
              },
              [&api](OrtCUDAProviderOptionsV2* h, const char* const* k, const char* const* v, size_t n) {
                return api.UpdateCUDAProviderOptions(h, k, v, n);
              },
              [&api](Ort::SessionOptions& s, OrtCUDAProviderOptionsV2* h) {
                return api.SessionOptionsAppendExecutionProvider_CUDA_V2(s, h);
              },
              [&api](OrtCUDAProviderOptionsV2* h) { api.ReleaseCUDAProviderOptions(h); });
        },
        "libonnxruntime from the onnxruntime-gpu wheel (with libonnxruntime_providers_cuda.so beside it)"}},
      {"TensorrtExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) {
          const OrtApi& api = Ort::GetApi();
          append_v2(
              so, o,
              [&api] {
                OrtTensorRTProviderOptionsV2* h = nullptr;
                check(api.CreateTensorRTProviderOptions(&h));
                return h;
              },
              [&api](OrtTensorRTProviderOptionsV2* h, const char* const* k, const char* const* v, size_t n) {
                return api.UpdateTensorRTProviderOptions(h, k, v, n);
              },
              [&api](Ort::SessionOptions& s, OrtTensorRTProviderOptionsV2* h) {
                return api.SessionOptionsAppendExecutionProvider_TensorRT_V2(s, h);
              },
              [&api](OrtTensorRTProviderOptionsV2* h) { api.ReleaseTensorRTProviderOptions(h); });
        },
        "libonnxruntime from the onnxruntime-gpu wheel with TensorRT installed"}},
      {"NnapiExecutionProvider",
       {[](Ort::SessionOptions& so, const Options& o) {
#ifdef __ANDROID__
          static const std::map<std::string, uint32_t> flags = {
              {"NNAPI_FLAG_USE_FP16", NNAPI_FLAG_USE_FP16},
              {"NNAPI_FLAG_USE_NCHW", NNAPI_FLAG_USE_NCHW},
              {"NNAPI_FLAG_CPU_DISABLED", NNAPI_FLAG_CPU_DISABLED},
              {"NNAPI_FLAG_CPU_ONLY", NNAPI_FLAG_CPU_ONLY},
          };
          uint32_t bits = 0;
          for (const auto& kv : o) {
            auto f = flags.find(kv.first);
            if (f == flags.end()) throw std::runtime_error("unknown NNAPI option '" + kv.first + "'");
            if (truthy(kv.second)) bits |= f->second;
          }
          using AppendNnapi = OrtStatus* (*)(OrtSessionOptions*, uint32_t);
          auto append = reinterpret_cast<AppendNnapi>(ort_symbol("OrtSessionOptionsAppendExecutionProvider_Nnapi"));
          if (append == nullptr) throw std::runtime_error("this libonnxruntime exports no NNAPI entry point");
          check(append(so, bits));
#else
          (void)so;
          (void)o;
          throw std::runtime_error("NNAPI is an Android API: this runner was not built for Android");
#endif
        },
        "the android-arm64 build (ORT's Android AAR)"}},
  };
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string option_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

std::vector<std::string> known_providers() {
  std::vector<std::string> out = {"CPUExecutionProvider"};
  for (const auto& kv : table()) out.push_back(kv.first);
  return out;
}

void append_provider(Ort::SessionOptions& so, const std::string& provider, const json& options) {
  if (provider == "CPUExecutionProvider") return;
  const auto entry = table().find(provider);
  if (entry == table().end()) {
    throw std::runtime_error("this runner does not know execution provider '" + provider +
                             "' (it knows " + join(known_providers()) + ")");
  }
  const std::vector<std::string> available = Ort::GetAvailableProviders();
  if (std::find(available.begin(), available.end(), provider) == available.end()) {
    throw std::runtime_error("the ONNX Runtime " + ort_version() + " linked into this runner lacks " +
                             provider + " (it has " + join(available) + "); " + provider + " comes with " +
                             entry->second.brought_by);
  }
  Options opts;
  if (options.is_object()) {
    for (auto it = options.begin(); it != options.end(); ++it) opts[it.key()] = option_text(it.value());
  }
  entry->second.append(so, opts);
}

}  // namespace runner
