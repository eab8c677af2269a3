// One job of protocol 1 (job.json in, result.json out): the context the three kinds share,
// the measurement loop and the stopping rule, all as harness/agent/agent.py does them.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.hpp"
#include "npz.hpp"
#include "session.hpp"

namespace runner {

constexpr int kProtocol = 1;

// An error that the result reports as "<type>: <message>" (the agent's "%s: %s" of the exception).
struct JobError : std::runtime_error {
  JobError(std::string type, const std::string& message) : std::runtime_error(message), type(std::move(type)) {}
  std::string type;
};

// Readings around each steady window from which the host derives the CPU time other processes
// took (contention): the machine's busy time (/proc/stat) minus the runner's own.
struct LoadReading {
  double t = 0;
  json busy_s;  // null where /proc/stat is unreadable
  double self_s = 0;
};

struct LoadMeter {
  json last;  // {"wall_s", "busy_s", "self_s"} of the last window, or null
  json error;
  int64_t retried = 0;  // windows of the last steady phase measured again for contention
  LoadReading read() const;
  void close_window(const LoadReading& before, const LoadReading& after);
  json others_cores() const;  // CPU others used per wall second in the last window, or null
};

// {"loadavg_before", "cpu_count", "windows": {}, "error": null} at the start of a job.
json load_readings_start();

// A handoff job's first warm-up (job "handoff_s" > 0, job given on stdin): announced with the
// line "warm-up" on stdout and held, past the job's own rule, until "go" comes on stdin (or EOF,
// or handoff_s passes); one more call then warms up on a quiet device. Meanwhile the host starts
// the next cell's runner. As the agent's Handoff.
struct Handoff {
  double max_s = 0;
  int fd = -1;  // where "go" comes from; -1: the job was named in argv
  bool pending = false;
  double held_s = 0;  // reported as the result's held_s

  void arm(double handoff_s, int stdin_fd);
  bool begin();     // true (and announced) for the first warm-up of a handoff job
  bool answered();  // non-blocking
  int64_t hold(const std::function<void()>& call);  // calls made while holding, the last included

 private:
  double t0_ = 0;
  bool done_ = false;
  std::string buf_;
};

struct Context {
  Ort::Env* env;  // null for a job on another runtime (OpenVINO): ONNX Runtime is never loaded then
  const json& job;
  json& result;
  double watch = 0.0;     // seconds in load + first inference + warm-up + steady windows
  bool peak_taken = false;
  LoadMeter load;
  Handoff handoff;

  // Records a steady window and the load readings measure() took around it.
  void steady_window(const std::string& name, double w0, double w1);

  // Reads the peak memory of the measured session: every kind calls it after its timed runs,
  // before the EP-placement profiling session exists (a second session inflates VmHWM).
  void take_peak();
  std::unique_ptr<Model> load_role(const std::string& role, const json& session_settings);
  std::unique_ptr<Model> profiling_session(const std::string& path, const json& session_settings);
  std::vector<std::string> session_providers() const;
  double slowdown() const;
};

// label -> {input name -> array}, labels sorted (npz keys "<label>/<input>").
using FeedArrays = std::map<std::string, std::map<std::string, Array>>;
FeedArrays load_feed_sets(const json& job);
FeedArrays require_feed_sets(const json& job, const std::string& want);
Named feeds_of(const std::map<std::string, Array>& arrays);

std::string series_name(const std::string& base, const std::string& label);

// time.perf_counter() around fn, plus the TEST-ONLY slowdown sleep; seconds.
double timed_call(const std::function<void()>& fn, double slowdown);

struct Measured {
  std::vector<double> samples_ms;
  int64_t warmup_n = 0;
  std::string stopped_by;
  double w0 = 0, w1 = 0;  // monotonic window of the steady phase
};

// Warm-up (discarded) then steady samples under the stopping rule of job["measure"]. A steady window
// while other processes took more than measure.contention_cores cores is measured again, at most
// measure.contention_retries times, and the quietest kept (as the agent's measure()).
Measured measure(const std::function<void()>& fn, const json& m, double slowdown, Context& ctx);

void append_series(Context& ctx, const std::string& name, const std::vector<double>& samples, int64_t n_warm,
                   const std::string& stopped);

using Outputs = std::vector<std::pair<std::string, Array>>;

// The job's "params", "measure" and "session" objects ({} when absent or not objects).
const json& params_of(const json& job);
const json& measure_of(const json& job);
const json& session_of(const json& job);

// Outputs keep the agent's dict semantics: a repeated name replaces the value in its first place.
void put(Outputs& outputs, const std::string& name, Array value);
using Kind = std::function<Outputs(Context&)>;

Outputs run_single(Context& ctx);
Outputs run_text_generation(Context& ctx);
Outputs run_llm(Context& ctx);
Outputs run_translation(Context& ctx);

// Peak resident memory: (MB, method) from VmHWM, else getrusage.
std::pair<double, std::string> peak_memory();
json current_rss_mb();

}  // namespace runner
