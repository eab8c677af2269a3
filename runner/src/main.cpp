// harness native runner: speaks runner protocol 1 exactly as harness/agent/agent.py does.
//
//   ort_runner JOB_JSON     writes <out_dir>/result.json (+ outputs.npz); exit 0 ok, 1 failed, 2 usage
//   ort_runner --job-from-stdin
//                           prints "ready", reads JOB_JSON's path as one line on stdin, then as above
//                           (the host may start a runner before its job exists); stdin closed first:
//                           exit 0. Such a job may hand off (handoff_s): "warm-up" out, "go" in.
//   ort_runner --probe      prints one JSON line of environment facts; exit 0, or 3 when ORT cannot start
//
// The work runs in a forked child so that a crash inside ONNX Runtime (SIGILL on an odd CPU,
// cpuinfo failing where SELinux hides /sys) becomes a clear message instead of a silent death.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "clock.hpp"
#include "job.hpp"
#include "job_file.hpp"
#ifdef HARNESS_WITH_OPENVINO
#include "openvino_kind.hpp"
#endif
#ifdef HARNESS_WITH_NCNN
#include "ncnn_kind.hpp"
#endif
#include "ort_library.hpp"
#include "probes.hpp"
#include "providers.hpp"
#include "runner_facts.hpp"
#include "smoke_model.hpp"

namespace runner {
namespace {

// Facts that need no ORT call (safe in the supervising parent).
json static_facts() {
  json facts = runner_facts("native");
  facts["ort_api_version"] = ORT_API_VERSION;
  return facts;
}

// A runtime other than ONNX Runtime compiled into this runner (`harness runner build --runtime NAME`).
struct OtherRuntime {
  const char* name;
  std::string (*version)();
  std::string (*smoke)();  // "ok", or why the runtime cannot run here
  Kind run;
};

const std::vector<OtherRuntime>& other_kinds() {
  static const std::vector<OtherRuntime> all = {
#ifdef HARNESS_WITH_OPENVINO
      {kOpenVino, [] { return openvino_version(); }, openvino_smoke, run_openvino},
#endif
#ifdef HARNESS_WITH_NCNN
      {kNcnn, ncnn_version, ncnn_smoke, run_ncnn},
#endif
  };
  return all;
}

// The runtimes other than ONNX Runtime compiled into this runner -> their versions.
json other_runtimes() {
  json out = json::object();
  for (const auto& rt : other_kinds()) out[rt.name] = rt.version();
  return out;
}

// with_ort false (a job on another runtime): ONNX Runtime is not loaded, so its library stays out
// of that cell's peak memory (as the agent, which does not import it then).
json env_facts(bool with_ort = true) {
  json facts = static_facts();
  json runtimes = other_runtimes();
  if (with_ort) {
    try {
      load_onnxruntime();
      facts["onnxruntime"] = ort_version();
      facts["providers"] = Ort::GetAvailableProviders();
      runtimes["onnxruntime"] = facts["onnxruntime"];
    } catch (const std::exception& e) {
      facts["onnxruntime_error"] = e.what();
    }
  }
  facts["runtimes"] = runtimes;
  return facts;
}

std::string signal_text(int sig) {
  const char* name = strsignal(sig);
  return "signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
}

volatile pid_t g_child = -1;

void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

// Runs fn in a child. Returns its exit code; a crash (SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGABRT)
// is described in `crash`; a kill (SIGTERM, SIGHUP, SIGINT, SIGKILL) is passed on as 128 + signal.
int supervised(const std::function<int()>& fn, std::string& crash) {
  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0) return fn();  // cannot fork: run unsupervised
  if (pid == 0) {
    const int rc = fn();
    std::cout.flush();
    std::cerr.flush();
    _exit(rc);
  }
  g_child = pid;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, forward_signal);  // what a host or adbd sends
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSEGV || sig == SIGILL || sig == SIGBUS || sig == SIGFPE || sig == SIGABRT) crash = signal_text(sig);
    return 128 + sig;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int probe() {
  std::string crash;
  int pipefd[2];
  if (pipe(pipefd) != 0) return 3;
  const int rc = supervised(
      [&] {
        close(pipefd[0]);
        json facts = env_facts();
        if (!facts.contains("onnxruntime_error")) {
          try {  // one smoke inference: ORT starts, plans threads, runs a kernel here
            Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "harness-probe");
            Ort::SessionOptions so;
            so.SetIntraOpNumThreads(1);
            Ort::Session s(env, kSmokeModel, sizeof kSmokeModel, so);
            float x[4] = {1, 2, 3, 4};
            int64_t shape[2] = {1, 4};
            auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
            Ort::Value in = Ort::Value::CreateTensor<float>(mem, x, 4, shape, 2);
            const char* in_names[] = {"x"};
            const char* out_names[] = {"y"};
            auto out = s.Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
            const float* y = out[0].GetTensorData<float>();
            facts["smoke"] = (y[3] == 16.0f) ? "ok" : "wrong result";
          } catch (const std::exception& e) {
            facts["onnxruntime_error"] = std::string("smoke inference failed: ") + e.what();
          }
        }
        for (const auto& rt : other_kinds()) {
          try {  // each runtime runs one kernel here (OpenVINO: its CPU plugin loads), or it is not offered
            const std::string smoke = rt.smoke();
            if (smoke != "ok") throw std::runtime_error(smoke);
          } catch (const std::exception& e) {
            facts["runtimes"].erase(rt.name);
            facts[std::string(rt.name) + "_error"] = std::string("smoke inference failed: ") + e.what();
          }
        }
        const std::string line = dump(facts) + "\n";
        ssize_t ignored = write(pipefd[1], line.data(), line.size());
        (void)ignored;
        close(pipefd[1]);
        return facts.contains("onnxruntime_error") ? 3 : 0;
      },
      crash);
  close(pipefd[1]);
  std::string line;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) line.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  if (!crash.empty() || line.empty()) {  // died before it could say anything
    json facts = static_facts();
    facts["onnxruntime_error"] =
        "ONNX Runtime crashed while starting on this device (" + (crash.empty() ? "no output" : crash) +
        "); known causes: an ARM CPU ORT's cpuinfo cannot read (/sys/devices/system/cpu hidden by SELinux), or a CPU "
        "without the instructions this libonnxruntime was built for";
    std::cout << dump(facts) << std::endl;
    return 3;
  }
  std::cout << line << std::flush;
  return rc;
}

json run_job(const json& job, int stdin_fd) {
  const std::string out_dir = job.at("out_dir").get<std::string>();
  make_dirs(out_dir);
  // A runtime other than ONNX Runtime names itself in the job's "runtime" block.
  const std::string other = job.contains("runtime") && job["runtime"].is_object()
                                ? job["runtime"].value("name", std::string("?")) : std::string();
  const bool runs_other = !other.empty() && other_runtimes().contains(other);
  json result = {
      {"protocol", kProtocol},
      {"status", "failed"},
      {"error", nullptr},
      {"traceback", nullptr},
      {"env", env_facts(!runs_other)},
      {"providers", nullptr},
      {"session", json::object()},
      {"load_ms", json::object()},
      {"first_inference_ms", json::object()},
      {"series", json::object()},
      {"memory", json::object()},
      {"load", load_readings_start()},
      {"probes", json::object()},
      {"windows", json::object()},
      {"snapshots", {{"before", read_snapshots(job.value("snapshots", json::object()))}}},
      {"measure_s", 0.0},
      {"held_s", 0.0},
      {"outputs", nullptr},
  };
  if (result["env"].contains("onnxruntime_error")) {
    result["error"] = "RuntimeError: " + result["env"]["onnxruntime_error"].get<std::string>();
    return result;
  }
  std::unique_ptr<Ort::Env> env;
  if (!runs_other) env = std::make_unique<Ort::Env>(ORT_LOGGING_LEVEL_WARNING, "harness-runner");
  Context ctx{env.get(), job, result};
  ctx.handoff.arm(job.contains("handoff_s") && job["handoff_s"].is_number() ? job["handoff_s"].get<double>() : 0.0,
                  stdin_fd);
  const json baseline = current_rss_mb();
  ProbeSampler sampler(job.value("probes", json::array()));
  sampler.start();
  std::string phase = "idle window";
  try {
    const double idle_s = job.contains("idle_s") && job["idle_s"].is_number() ? job["idle_s"].get<double>() : 0.0;
    if (idle_s > 0) {
      const double t0 = monotonic_s();
      sleep_s(idle_s);
      result["windows"]["idle"] = {t0, monotonic_s()};
    }
    const std::string kind = job.value("kind", "single");
    if (!other.empty() && !runs_other) {
      std::string have = "onnxruntime";
      const json compiled_in = other_runtimes();
      for (auto it = compiled_in.begin(); it != compiled_in.end(); ++it) have += ", " + it.key();
      if (compiled_in.empty()) have += " only";
      throw JobError("ValueError", "this native runner runs " + have + ", not runtime '" + other +
                                       "': run it through the Python agent (runner: kind: python)" +
                                       (other == "openvino" || other == "ncnn" ? " or build the runner with it (harness runner "
                                                              "build --runtime " + other + ")" : std::string()));
    }
    if (runs_other && kind != "single") {
      throw JobError("ValueError", "runtime " + other + " runs single jobs, not '" + kind + "'");
    }
    static const std::map<std::string, Kind> kinds = {
        {"single", run_single}, {"text-generation", run_text_generation}, {"translation", run_translation}, {"llm", run_llm}};
    const auto it = kinds.find(kind);
    if (it == kinds.end()) {
      throw JobError("ValueError", "unknown job kind '" + kind + "' (runner knows ['single', 'text-generation', 'translation', 'llm'])");
    }
    phase = "kind " + kind;
    Kind run = it->second;
    for (const auto& rt : other_kinds()) {
      if (runs_other && other == rt.name) {
        phase += " on " + other;
        run = rt.run;
      }
    }
    const Outputs outputs = run(ctx);
    ctx.take_peak();
    phase = "outputs";
    if (job.value("save_outputs", true) && !outputs.empty()) {
      write_npz(out_dir + "/outputs.npz", outputs);
      result["outputs"] = "outputs.npz";
    }
    result["status"] = "ok";
  } catch (const JobError& e) {
    result["error"] = e.type + ": " + e.what();
    result["traceback"] = "native runner, in " + phase;
  } catch (const Ort::Exception& e) {
    result["error"] = std::string("OrtError: ") + e.what();
    result["traceback"] = "native runner, in " + phase + " (ORT error code " + std::to_string(e.GetOrtErrorCode()) + ")";
  } catch (const json::exception& e) {
    result["error"] = std::string("ValueError: bad job field: ") + e.what();
    result["traceback"] = "native runner, in " + phase;
  } catch (const std::exception& e) {
    result["error"] = std::string("RuntimeError: ") + e.what();
    result["traceback"] = "native runner, in " + phase;
  }
  if (ctx.peak_taken) result["memory"]["baseline_rss_mb"] = baseline;
  result["probes"] = sampler.stop();
  result["snapshots"]["after"] = read_snapshots(job.value("snapshots", json::object()));
  result["measure_s"] = ctx.watch;
  result["held_s"] = ctx.handoff.held_s;
  return result;
}

// stdin_fd: where a handoff's "go" comes from when the job's path came on stdin, else -1.
int run_file(const std::string& path, int stdin_fd) {
  json job;
  if (!read_job_file(path, "ort_runner", job)) return 2;
  if (!job.is_object() || !job.contains("protocol") || job["protocol"] != kProtocol) {
    std::cerr << "runner speaks protocol " << kProtocol << ", job has "
              << (job.is_object() && job.contains("protocol") ? job["protocol"].dump() : "None") << "\n";
    return 2;
  }
  if (!job.contains("out_dir") || !job["out_dir"].is_string()) {
    std::cerr << "ort_runner: job has no out_dir\n";
    return 2;
  }
  const std::string out_dir = job["out_dir"].get<std::string>();
  std::string crash;
  const int rc = supervised(
      [&] {
        const json result = run_job(job, stdin_fd);
        write_json_atomic(out_dir + "/result.json", result);
        return result["status"] == "ok" ? 0 : 1;
      },
      crash);
  if (!crash.empty()) {
    json result = {{"protocol", kProtocol}, {"status", "failed"}, {"env", static_facts()},
                   {"error", "RuntimeError: the runner crashed with " + crash + " while running the job"},
                   {"traceback", nullptr}, {"providers", nullptr}, {"session", json::object()},
                   {"load_ms", json::object()}, {"first_inference_ms", json::object()}, {"series", json::object()},
                   {"memory", json::object()}, {"probes", json::object()}, {"windows", json::object()},
                   {"snapshots", {{"before", json::object()}, {"after", json::object()}}}, {"measure_s", 0.0},
                   {"outputs", nullptr}};
    make_dirs(out_dir);
    write_json_atomic(out_dir + "/result.json", result);
    return 1;
  }
  return rc;
}

}  // namespace
}  // namespace runner

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a host gone while a protocol line is written: stdin's EOF tells, not a death
  if (argc == 2 && std::string(argv[1]) == "--probe") return runner::probe();
  std::string job_path = argc == 2 ? argv[1] : "";
  int stdin_fd = -1;
  if (job_path == "--job-from-stdin") {
    job_path = runner::job_path_from_stdin();
    if (job_path.empty()) return 0;  // stdin closed before a job came
    stdin_fd = 0;
  }
  if (argc != 2 || job_path.rfind("--", 0) == 0) {
    std::cerr << "usage: ort_runner JOB_JSON | --job-from-stdin | --probe\n";
    return 2;
  }
  try {
    return runner::run_file(job_path, stdin_fd);
  } catch (const std::exception& e) {
    std::cerr << "ort_runner: " << e.what() << "\n";
    return 2;
  }
}
