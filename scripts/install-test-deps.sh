#!/usr/bin/env bash
# Installs what the test rigs need from Debian packages: a real sshd, the real adb server,
# headless Chromium (report tests) and PostgreSQL (shared farm store). Idempotent; skips
# quietly what is already there. Needs root (or passwordless sudo) for apt-get.
set -euo pipefail
need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v adb >/dev/null 2>&1 || need+=(adb)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if ((${#need[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "install-test-deps: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
