#include "ort_library.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace runner {
namespace {
void* g_handle = nullptr;
const OrtApiBase* g_base = nullptr;
}  // namespace

void load_onnxruntime() {
  if (g_handle != nullptr) return;
  void* handle = dlopen(HARNESS_ORT_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw std::runtime_error(std::string("cannot load ") + HARNESS_ORT_LIBRARY + ": " + (why ? why : "unknown error"));
  }
  using GetApiBase = const OrtApiBase* (*)();
  auto get_base = reinterpret_cast<GetApiBase>(dlsym(handle, "OrtGetApiBase"));
  if (get_base == nullptr) throw std::runtime_error(std::string(HARNESS_ORT_LIBRARY) + " exports no OrtGetApiBase");
  const OrtApiBase* base = get_base();
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  if (api == nullptr) {
    throw std::runtime_error(std::string("the linked ONNX Runtime ") + base->GetVersionString() +
                             " does not serve ORT API version " + std::to_string(ORT_API_VERSION) +
                             " that this runner was built against: bundle a newer libonnxruntime");
  }
  Ort::InitApi(api);
  g_base = base;
  g_handle = handle;
}

std::string ort_version() { return g_base ? g_base->GetVersionString() : "not loaded"; }

void* ort_symbol(const char* name) { return g_handle ? dlsym(g_handle, name) : nullptr; }

}  // namespace runner
