// Probe threads (file / command / stream) and snapshots: raw text only, as the agent does.
// The host parses units, signs and rails; the runner stays generic.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "json.hpp"

namespace runner {

constexpr const char* kRunnerPid = "{pid}";  // in a command probe's argv: this process's pid

struct ProbeRecord {
  std::string name;
  std::vector<double> t;
  std::vector<std::string> v;
  double overhead_s = 0.0;
  std::string error;
  bool has_error = false;
  void set_error(const std::string& e) {
    error = e;
    has_error = true;
  }
};

class ProbeSampler {
 public:
  explicit ProbeSampler(const json& specs);
  ~ProbeSampler();
  void start();
  json stop();  // {name: {"t", "v", "overhead_s", "error"}}

 private:
  void poll_file(const json& spec, ProbeRecord& rec);
  void poll_command(const json& spec, ProbeRecord& rec);
  void stream(const json& spec, ProbeRecord& rec);
  bool wait(double seconds);  // true once stop was asked

  json specs_;
  std::vector<std::unique_ptr<ProbeRecord>> records_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::mutex pids_mu_;
  std::vector<int> stream_pids_;
  bool stopped_ = false;
};

// Files read before and after the cell: {name: text | null, name + ".error": message}.
json read_snapshots(const json& paths);

// File text with surrounding whitespace stripped, as Python's f.read().strip(); throws on error.
std::string read_text_file(const std::string& path);
std::string strip(const std::string& s);

}  // namespace runner
