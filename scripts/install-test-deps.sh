#!/usr/bin/env bash
# Installs what the test rigs need from Debian packages: a real sshd, the real adb server,
# headless Chromium (report tests), PostgreSQL (shared farm store) and the native runner's
# toolchain (below). Idempotent; skips quietly what is already there. Needs root (or
# passwordless sudo) for apt-get.
set -euo pipefail
need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v adb >/dev/null 2>&1 || need+=(adb)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# the native runner (`harness runner build`): CMake + a C++17 compiler, the aarch64 cross compiler
# (its Debian arm64 glibc/libstdc++ go into the phone bundle), header-only JSON, readelf, npm (the
# ONNX Runtime headers come from an npm package), and qemu user-mode to run the aarch64 bundle here
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
[ -f /usr/include/nlohmann/json.hpp ] || need+=(nlohmann-json3-dev)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v git >/dev/null 2>&1 || need+=(git)  # llama-bench's source is a git bundle inside npm node-llama-cpp
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
# the runner's ncnn kind: ncnn's sdist names its version after today, so pip fetches it under faketime
command -v faketime >/dev/null 2>&1 || need+=(faketime)
# GNU time: the LLM runner's peak memory is checked against `/usr/bin/time -v`
[ -x /usr/bin/time ] || need+=(time)
if ((${#need[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "install-test-deps: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
