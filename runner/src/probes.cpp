#include "probes.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "clock.hpp"
#include "spawn.hpp"

namespace runner {

std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string read_text_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(errno_message(errno, path));
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      throw std::runtime_error(errno_message(err, path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return strip(out);
}

json read_snapshots(const json& paths) {
  json out = json::object();
  if (!paths.is_object()) return out;
  for (auto it = paths.begin(); it != paths.end(); ++it) {
    try {
      out[it.key()] = read_text_file(it.value().get<std::string>());
    } catch (const std::exception& e) {
      out[it.key()] = nullptr;
      out[it.key() + ".error"] = e.what();
    }
  }
  return out;
}

ProbeSampler::ProbeSampler(const json& specs) : specs_(specs.is_array() ? specs : json::array()) {}

ProbeSampler::~ProbeSampler() {
  if (!stopped_) stop();
}

bool ProbeSampler::wait(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopping_; });
  return stopping_;
}

void ProbeSampler::start() {
  for (const auto& spec : specs_) {
    records_.push_back(std::make_unique<ProbeRecord>());
    ProbeRecord& rec = *records_.back();
    rec.name = spec.value("name", "");
    const std::string kind = spec.value("kind", "file");
    if (kind == "file") {
      threads_.emplace_back([this, &spec, &rec] { poll_file(spec, rec); });
    } else if (kind == "command") {
      threads_.emplace_back([this, &spec, &rec] { poll_command(spec, rec); });
    } else if (kind == "stream") {
      threads_.emplace_back([this, &spec, &rec] { stream(spec, rec); });
    } else {
      rec.set_error("unknown probe kind '" + kind + "'");
    }
  }
}

json ProbeSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(pids_mu_);
    for (int pid : stream_pids_) kill(pid, SIGTERM);
  }
  for (auto& th : threads_) {
    if (th.joinable()) th.join();
  }
  threads_.clear();
  {
    std::lock_guard<std::mutex> lock(pids_mu_);
    for (int pid : stream_pids_) {
      if (!wait_child(pid, 2.0)) {
        kill(pid, SIGKILL);
        wait_child(pid, 2.0);
      }
    }
    stream_pids_.clear();
  }
  stopped_ = true;
  json out = json::object();
  for (const auto& r : records_) {
    json rec = {{"t", r->t}, {"v", r->v}, {"overhead_s", r->overhead_s}, {"error", nullptr}};
    if (r->has_error) rec["error"] = r->error;
    out[r->name] = rec;
  }
  return out;
}

void ProbeSampler::poll_file(const json& spec, ProbeRecord& rec) {
  const double interval = spec.value("interval_s", 0.1);
  const std::string path = spec.value("path", "");
  while (!wait(0)) {
    const double t0 = monotonic_s();
    try {
      rec.v.push_back(read_text_file(path));
      rec.t.push_back(t0);
    } catch (const std::exception& e) {
      rec.set_error(e.what());
      return;
    }
    rec.overhead_s += monotonic_s() - t0;
    if (wait(interval)) return;
  }
}

void ProbeSampler::poll_command(const json& spec, ProbeRecord& rec) {
  const double interval = spec.value("interval_s", 1.0);
  std::vector<std::string> argv;
  for (const auto& a : spec.value("argv", json::array())) {
    const std::string s = a.get<std::string>();
    argv.push_back(s == kRunnerPid ? std::to_string(getpid()) : s);
  }
  while (!wait(0)) {
    const double t0 = monotonic_s();
    try {
      const std::string out = run_capture(argv, 10.0);
      rec.t.push_back(t0);
      rec.v.push_back(strip(out));
    } catch (const std::exception& e) {
      rec.set_error(e.what());
      return;
    }
    rec.overhead_s += monotonic_s() - t0;
    if (wait(interval)) return;
  }
}

void ProbeSampler::stream(const json& spec, ProbeRecord& rec) {
  std::vector<std::string> argv;
  for (const auto& a : spec.value("argv", json::array())) argv.push_back(a.get<std::string>());
  Child c;
  {
    std::lock_guard<std::mutex> lock(pids_mu_);
    if (wait(0)) return;
    try {
      c = spawn_reading_stdout(argv);
    } catch (const std::exception& e) {
      rec.set_error(e.what());
      return;
    }
    stream_pids_.push_back(c.pid);
  }
  std::string pending;
  char buf[4096];
  bool done = false;
  while (!done) {
    const ssize_t n = read(c.out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      rec.t.push_back(monotonic_s());
      rec.v.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      if (wait(0)) {
        done = true;
        break;
      }
    }
  }
  if (!done && !pending.empty()) {  // a last line without its newline
    rec.t.push_back(monotonic_s());
    rec.v.push_back(pending);
  }
  close(c.out_fd);
}

}  // namespace runner
