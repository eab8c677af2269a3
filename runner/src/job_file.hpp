// Protocol 1 on disk, the same for every runner (ort_runner, llm_runner): the job's path from argv or
// from stdin (--job-from-stdin), job.json read and parsed, result.json written atomically.
#pragma once

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "json.hpp"

namespace runner {

// One JSON line, invalid UTF-8 from the device (file names, driver strings) replaced, never thrown on.
inline std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// --job-from-stdin: say "ready", then read the job's path as one line, byte by byte from fd 0 so nothing
// past the line is buffered (a handoff's "go" is polled there). Empty: stdin closed before a job came.
inline std::string job_path_from_stdin() {
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  std::string path;
  char c = 0;
  while (::read(0, &c, 1) == 1 && c != '\n') path.push_back(c);
  while (!path.empty() && (path.back() == '\r' || path.back() == ' ')) path.pop_back();
  return path;
}

// job.json parsed into ``job``; false (after saying why on stderr, as ``program``) when it cannot be read or
// is not JSON. Its protocol and fields are the caller's to check.
inline bool read_job_file(const std::string& path, const char* program, json& job) {
  try {
    std::ifstream f(path);
    if (!f) {
      std::cerr << program << ": cannot read " << path << ": " << strerror(errno) << "\n";
      return false;
    }
    job = json::parse(f);
  } catch (const json::exception& e) {
    std::cerr << program << ": " << path << " is not JSON: " << e.what() << "\n";
    return false;
  }
  return true;
}

// Written beside, then renamed: the host never reads half a result.json.
inline void write_json_atomic(const std::string& path, const json& obj) {
  const std::string tmp = path + ".part";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + tmp);
    f << dump(obj);
    if (!f) throw std::runtime_error("write failed: " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp);
}

// mkdir -p (each level 0755; one that exists already is fine).
inline void make_dirs(const std::string& path) {
  std::string cur = path.rfind('/', 0) == 0 ? "/" : "";
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    mkdir(cur.c_str(), 0755);
  }
}

}  // namespace runner
