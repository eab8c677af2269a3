// libonnxruntime is opened at run time (dlopen), inside the supervised child: ORT initialises
// cpuinfo while it loads, and where that crashes (an ARM CPU it cannot read, an illegal
// instruction) the parent still says so clearly, even for `--probe`.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string>

#ifndef HARNESS_ORT_LIBRARY
#define HARNESS_ORT_LIBRARY "libonnxruntime.so.1"  // the bundle's lib/, found through RUNPATH or --library-path
#endif

namespace runner {

// Loads the library and initialises the C++ API for ORT_API_VERSION; throws with the reason.
void load_onnxruntime();

// The loaded library's version ("1.32.0"); Ort::GetVersionString would need it linked.
std::string ort_version();

// A symbol exported by libonnxruntime outside the OrtApi table (nullptr when absent).
void* ort_symbol(const char* name);

}  // namespace runner
