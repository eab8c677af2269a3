#include "job.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
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

// Every kind reads the peak before the EP-placement profiling session exists: the method says so.
const char* const kMeasuredSessionOnly = " (measured session only)";

std::pair<double, std::string> peak_memory() {
  const json hwm = read_vm_kb("VmHWM");
  if (!hwm.is_null()) return {hwm.get<double>() / 1024.0, std::string("VmHWM") + kMeasuredSessionOnly};
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
  const double scale = 1024.0 * 1024.0;  // bytes on macOS
#else
  const double scale = 1024.0;  // kB on Linux
#endif
  return {static_cast<double>(ru.ru_maxrss) / scale, std::string("ru_maxrss") + kMeasuredSessionOnly};
}

namespace {

// Busy CPU seconds of the whole machine since boot: /proc/stat's "cpu" line minus idle and iowait.
json machine_busy_s(double tick) {
  std::ifstream f("/proc/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return nullptr;
  std::istringstream in(line);
  std::string label;
  in >> label;
  std::vector<long long> ticks;
  long long v;
  while (ticks.size() < 8 && in >> v) ticks.push_back(v);
  if (label != "cpu" || ticks.size() < 5) return nullptr;
  long long total = 0;
  for (long long t : ticks) total += t;
  return static_cast<double>(total - ticks[3] - ticks[4]) / tick;
}

// CPU seconds of this runner: every thread (ORT's pool, probe threads) and reaped children.
double own_cpu_s() {
  double s = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage ru{};
    getrusage(who, &ru);
    s += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
  }
  return s;
}

double clock_tick() {
  const long t = sysconf(_SC_CLK_TCK);
  return t > 0 ? static_cast<double>(t) : 100.0;
}

}  // namespace

json load_readings_start() {
  json loadavg = nullptr;
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (f >> a >> b >> c) loadavg = {a, b, c};
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return {{"loadavg_before", loadavg}, {"cpu_count", n > 0 ? json(n) : json(nullptr)}, {"windows", json::object()},
          {"error", nullptr}};
}

LoadReading LoadMeter::read() const { return {monotonic_s(), machine_busy_s(clock_tick()), own_cpu_s()}; }

void LoadMeter::close_window(const LoadReading& before, const LoadReading& after) {
  if (before.busy_s.is_null() || after.busy_s.is_null()) {
    error = "/proc/stat unreadable: no machine-wide CPU time";
    last = nullptr;
    return;
  }
  last = {{"wall_s", after.t - before.t},
          {"busy_s", after.busy_s.get<double>() - before.busy_s.get<double>()},
          {"self_s", after.self_s - before.self_s}};
}

json LoadMeter::others_cores() const {
  if (last.is_null() || last["wall_s"].get<double>() <= 0) return nullptr;
  const double others = last["busy_s"].get<double>() - last["self_s"].get<double>();
  return (others > 0 ? others : 0.0) / last["wall_s"].get<double>();
}

void Context::steady_window(const std::string& name, double w0, double w1) {
  result["windows"][name] = {w0, w1};
  if (!load.last.is_null()) result["load"]["windows"][name] = load.last;
  if (load.retried > 0) {
    result["load"]["retries"][name] = load.retried;
    load.retried = 0;
  }
  result["load"]["error"] = load.error;
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
  if (env == nullptr) throw JobError("RuntimeError", "no ONNX Runtime environment for this job");
  json applied;
  const std::string path = model_path(job, role);
  Ort::SessionOptions so = session_options(session_settings, job.value("provider", "CPUExecutionProvider"),
                                           job.value("provider_options", json::object()), applied);
  const double t0 = perf_s();
  auto model = std::make_unique<Model>(*env, path, so);
  const double load_ms = (perf_s() - t0) * 1000.0;
  watch += load_ms / 1000.0;
  result["load_ms"][role] = load_ms;
  result["session"] = applied;
  return model;
}

std::unique_ptr<Model> Context::profiling_session(const std::string& path, const json& session_settings) {
  if (env == nullptr) throw JobError("RuntimeError", "no ONNX Runtime environment for this job");
  json applied;
  const std::string prefix = job["out_dir"].get<std::string>() + "/ort_profile";
  Ort::SessionOptions so = session_options(session_settings, job.value("provider", "CPUExecutionProvider"),
                                           job.value("provider_options", json::object()), applied, prefix);
  return std::make_unique<Model>(*env, path, so);
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

void Handoff::arm(double handoff_s, int stdin_fd) {
  max_s = handoff_s;
  fd = stdin_fd;
  pending = max_s > 0 && fd >= 0;
}

bool Handoff::begin() {
  if (!pending) return false;
  pending = false;
  t0_ = perf_s();
  std::fputs("warm-up\n", stdout);
  std::fflush(stdout);
  return true;
}

bool Handoff::answered() {
  if (done_) return true;
  if (perf_s() - t0_ >= max_s) return done_ = true;
  pollfd p{fd, POLLIN, 0};
  while (!done_ && ::poll(&p, 1, 0) > 0) {
    char chunk[64];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return done_ = true;  // EOF (or an error): nobody will answer
    buf_.append(chunk, static_cast<size_t>(n));
    done_ = buf_.find("go\n") != std::string::npos;
  }
  return done_;
}

int64_t Handoff::hold(const std::function<void()>& call) {
  const double t0 = perf_s();
  int64_t n = 0;
  while (!answered()) {
    call();
    n += 1;
  }
  call();
  held_s = perf_s() - t0;
  return n + 1;
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
  const bool held = ctx.handoff.begin();
  while (out.warmup_n < warmup || (perf_s() - t_start) < warmup_s) {
    timed_call(fn, slowdown);
    out.warmup_n += 1;
    if (perf_s() - t_start > max_s) break;
  }
  if (held) out.warmup_n += ctx.handoff.hold([&] { timed_call(fn, slowdown); });
  const json limit = m.contains("contention_cores") ? m["contention_cores"] : json();
  const int64_t retries = limit.is_number() ? static_cast<int64_t>(num(m, "contention_retries", 2)) : 0;
  Measured best;
  json best_cores, best_load;
  bool have = false;
  int64_t attempt = 0;
  for (; attempt <= retries; ++attempt) {
    Measured w;
    w.warmup_n = out.warmup_n;
    const LoadReading load_before = ctx.load.read();
    w.w0 = monotonic_s();
    const double s0 = perf_s();
    w.stopped_by = "max_seconds";
    while (true) {
      w.samples_ms.push_back(timed_call(fn, slowdown) * 1000.0);
      const double elapsed = perf_s() - s0;
      const auto n = static_cast<int64_t>(w.samples_ms.size());
      if (n >= min_it && elapsed >= min_s) {
        w.stopped_by = "min_iterations+min_seconds";
        break;
      }
      if (elapsed >= max_s) {
        w.stopped_by = "max_seconds";
        break;
      }
      if (n >= max_it) {
        w.stopped_by = "max_iterations";
        break;
      }
    }
    w.w1 = monotonic_s();
    ctx.load.close_window(load_before, ctx.load.read());
    const json cores = ctx.load.others_cores();
    if (!have || (cores.is_number() && (!best_cores.is_number() || cores.get<double>() < best_cores.get<double>()))) {
      best = std::move(w);
      best_cores = cores;
      best_load = ctx.load.last;
      have = true;
    }
    if (!limit.is_number() || !cores.is_number() || cores.get<double>() <= limit.get<double>()) break;
  }
  ctx.load.last = best_load;
  ctx.load.retried = attempt > retries ? retries : attempt;
  ctx.watch += perf_s() - t_start;
  return best;
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

const json& params_of(const json& job) {
  static const json empty = json::object();
  return job.contains("params") && job["params"].is_object() ? job["params"] : empty;
}

const json& measure_of(const json& job) {
  static const json empty = json::object();
  return job.contains("measure") && job["measure"].is_object() ? job["measure"] : empty;
}

const json& session_of(const json& job) {
  static const json empty = json::object();
  return job.contains("session") && job["session"].is_object() ? job["session"] : empty;
}

void put(Outputs& outputs, const std::string& name, Array value) {
  for (auto& kv : outputs) {
    if (kv.first == name) {
      kv.second = std::move(value);
      return;
    }
  }
  outputs.emplace_back(name, std::move(value));
}

}  // namespace runner
