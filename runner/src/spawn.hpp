// Child processes for command and stream probes (fork + exec, no shell).
#pragma once

#include <string>
#include <vector>

namespace runner {

struct Child {
  int pid = -1;
  int out_fd = -1;  // the child's stdout (its stderr goes to /dev/null)
};

// Starts argv[0] from PATH; throws std::runtime_error with Python's OSError wording
// ("[Errno 2] No such file or directory: 'x'") when it cannot be executed.
Child spawn_reading_stdout(const std::vector<std::string>& argv);

// Reads the child's stdout to EOF within timeout_s and reaps it; throws on timeout (the child is killed).
std::string run_capture(const std::vector<std::string>& argv, double timeout_s);

// waitpid with a deadline; returns false if the child is still running.
bool wait_child(int pid, double timeout_s);

std::string errno_message(int err, const std::string& path);

}  // namespace runner
