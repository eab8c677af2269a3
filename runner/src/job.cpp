#include "job.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "clock.hpp"

namespace runner {

void sleep_s(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

namespace {

json read_vm_kb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  if (!f) return nullptr;
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return nullptr;
}

}  // namespace

std::pair<double, std::string> peak_memory() {
  const json hwm = read_vm_kb("VmHWM");
  if (!hwm.is_null()) return {hwm.get<double>() / 1024.0, "VmHWM"};
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
  return {static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0), "ru_maxrss"};
#else
  return {static_cast<double>(ru.ru_maxrss) / 1024.0, "ru_maxrss"};
#endif
}

json current_rss_mb() {
  const json rss = read_vm_kb("VmRSS");
  if (rss.is_null()) return nullptr;
  return rss.get<double>() / 1024.0;
}

void Context::take_peak() {
  if (peak_taken) return;
  const auto peak = peak_memory();
  json& mem = result["memory"];
  mem["peak_rss_mb"] = peak.first;
  mem["method"] = peak.second;
  peak_taken = true;
}

double Context::slowdown() const {
  return job.contains("test_slowdown") && job["test_slowdown"].is_number() ? job["test_slowdown"].get<double>() : 0.0;
}

std::vector<std::string> Context::session_providers() const {
  const std::string requested = job.value("provider", "CPUExecutionProvider");
  if (requested == "CPUExecutionProvider") return {requested};
  return {requested, "CPUExecutionProvider"};
}

static std::string model_path(const json& job, const std::string& role) {
  if (!job.contains("models") || !job["models"].is_object() || !job["models"].contains(role)) {
    throw JobError("KeyError", "'" + role + "'");
  }
  return job["models"][role].get<std::string>();
}

std::unique_ptr<Model> Context::load_role(const std::string& role, const json& session_settings) {
  json applied;
  const std::string path = model_path(job, role);
  Ort::SessionOptions so = session_options(session_settings, job.value("provider", "CPUExecutionProvider"),
                                           job.value("provider_options", json::object()), applied);
  const double t0 = perf_s();
  auto model = std::make_unique<Model>(env, path, so);
  const double load_ms = (perf_s() - t0) * 1000.0;
  watch += load_ms / 1000.0;
  result["load_ms"][role] = load_ms;
  result["session"] = applied;
  return model;
}

std::unique_ptr<Model> Context::profiling_session(const std::string& path, const json& session_settings) {
  json applied;
  const std::string prefix = job["out_dir"].get<std::string>() + "/ort_profile";
  Ort::SessionOptions so = session_options(session_settings, job.value("provider", "CPUExecutionProvider"),
                                           job.value("provider_options", json::object()), applied, prefix);
  return std::make_unique<Model>(env, path, so);
}

FeedArrays load_feed_sets(const json& job) {
  FeedArrays sets;
  if (!job.contains("inputs") || job["inputs"].is_null()) return sets;
  const std::string path = job["inputs"].get<std::string>();
  if (path.empty()) return sets;
  for (auto& kv : read_npz(path)) {
    const size_t slash = kv.first.rfind('/');
    const std::string label = slash == std::string::npos ? "" : kv.first.substr(0, slash);
    const std::string name = slash == std::string::npos ? kv.first : kv.first.substr(slash + 1);
    sets[label][name] = std::move(kv.second);
  }
  return sets;
}

FeedArrays require_feed_sets(const json& job, const std::string& want) {
  FeedArrays sets = load_feed_sets(job);
  if (sets.empty()) {
    throw JobError("ValueError", "job for kind '" + job.value("kind", std::string("single")) + "' has no inputs" + want);
  }
  return sets;
}

Named feeds_of(const std::map<std::string, Array>& arrays) {
  Named feeds;
  for (const auto& kv : arrays) feeds[kv.first] = tensor_from_array(kv.second);
  return feeds;
}

std::string series_name(const std::string& base, const std::string& label) {
  return label.empty() ? base : base + "@" + label;
}

double timed_call(const std::function<void()>& fn, double slowdown) {
  const double t0 = perf_s();
  fn();
  double dt = perf_s() - t0;
  if (slowdown) {
    sleep_s(dt * slowdown);  // test-only knob: a known, injected regression
    dt = perf_s() - t0;
  }
  return dt;
}

static double num(const json& m, const char* key, double dflt) {
  return m.contains(key) && m[key].is_number() ? m[key].get<double>() : dflt;
}

Measured measure(const std::function<void()>& fn, const json& m_in, double slowdown, Context& ctx) {
  const json m = m_in.is_object() ? m_in : json::object();
  const int64_t warmup = static_cast<int64_t>(num(m, "warmup", 3));
  const double warmup_s = num(m, "warmup_s", 0.2);
  const int64_t min_it = static_cast<int64_t>(num(m, "min_iterations", 10));
  const double min_s = num(m, "min_seconds", 1.0);
  const double max_s = num(m, "max_seconds", 10.0);
  const int64_t max_it = static_cast<int64_t>(num(m, "max_iterations", 1000000));
  Measured out;
  const double t_start = perf_s();
  while (out.warmup_n < warmup || (perf_s() - t_start) < warmup_s) {
    timed_call(fn, slowdown);
    out.warmup_n += 1;
    if (perf_s() - t_start > max_s) break;
  }
  out.w0 = monotonic_s();
  const double s0 = perf_s();
  out.stopped_by = "max_seconds";
  while (true) {
    out.samples_ms.push_back(timed_call(fn, slowdown) * 1000.0);
    const double elapsed = perf_s() - s0;
    const auto n = static_cast<int64_t>(out.samples_ms.size());
    if (n >= min_it && elapsed >= min_s) {
      out.stopped_by = "min_iterations+min_seconds";
      break;
    }
    if (elapsed >= max_s) {
      out.stopped_by = "max_seconds";
      break;
    }
    if (n >= max_it) {
      out.stopped_by = "max_iterations";
      break;
    }
  }
  out.w1 = monotonic_s();
  ctx.watch += perf_s() - t_start;
  return out;
}

void append_series(Context& ctx, const std::string& name, const std::vector<double>& samples, int64_t n_warm,
                   const std::string& stopped) {
  json& series = ctx.result["series"];
  if (!series.contains(name)) {
    series[name] = {{"unit", "ms"}, {"samples", json::array()}, {"warmup_n", 0}, {"stopped_by", stopped}};
  }
  json& s = series[name];
  for (double v : samples) s["samples"].push_back(v);
  s["warmup_n"] = s["warmup_n"].get<int64_t>() + n_warm;
  s["stopped_by"] = stopped;
}

}  // namespace runner
