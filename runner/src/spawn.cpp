#include "spawn.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "clock.hpp"

namespace runner {

std::string errno_message(int err, const std::string& path) {
  return "[Errno " + std::to_string(err) + "] " + strerror(err) + ": '" + path + "'";
}

Child spawn_reading_stdout(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::runtime_error("empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2], status[2];
  if (pipe(out) != 0) throw std::runtime_error(errno_message(errno, argv[0]));
  if (pipe(status) != 0) {
    close(out[0]);
    close(out[1]);
    throw std::runtime_error(errno_message(errno, argv[0]));
  }
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  fcntl(status[0], F_SETFD, FD_CLOEXEC);
  fcntl(status[1], F_SETFD, FD_CLOEXEC);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(out[0]);
    close(out[1]);
    close(status[0]);
    close(status[1]);
    if (devnull >= 0) close(devnull);
    throw std::runtime_error(errno_message(err, argv[0]));
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    dup2(out[1], 1);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 2);
    }
    close(out[1]);
    execvp(args[0], args.data());
    const int err = errno;
    ssize_t ignored = write(status[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  close(status[1]);
  if (devnull >= 0) close(devnull);
  int err = 0;
  ssize_t got;
  do {
    got = read(status[0], &err, sizeof err);
  } while (got < 0 && errno == EINTR);
  close(status[0]);
  if (got == static_cast<ssize_t>(sizeof err)) {  // exec failed
    close(out[0]);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(errno_message(err, argv[0]));
  }
  return Child{pid, out[0]};
}

bool wait_child(int pid, double timeout_s) {
  const double deadline = monotonic_s() + timeout_s;
  while (true) {
    int st = 0;
    const pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (monotonic_s() >= deadline) return false;
    sleep_s(0.01);
  }
}

std::string run_capture(const std::vector<std::string>& argv, double timeout_s) {
  Child c = spawn_reading_stdout(argv);
  std::string out;
  const double deadline = monotonic_s() + timeout_s;
  char buf[4096];
  while (true) {
    const double left = deadline - monotonic_s();
    if (left <= 0) {
      kill(c.pid, SIGKILL);
      close(c.out_fd);
      waitpid(c.pid, nullptr, 0);
      std::string cmd = "[";
      for (size_t i = 0; i < argv.size(); ++i) cmd += (i ? ", '" : "'") + argv[i] + "'";
      throw std::runtime_error("Command '" + cmd + "]' timed out after " + std::to_string(static_cast<int>(timeout_s)) +
                               " seconds");
    }
    pollfd p{c.out_fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = read(c.out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(c.out_fd);
  const double left = deadline - monotonic_s();
  if (!wait_child(c.pid, left > 0 ? left : 0.0)) {  // stdout closed, process still running
    kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
  }
  return out;
}

}  // namespace runner
