#!/usr/bin/env bash
# Installs what building and testing baosong needs on a fresh Debian machine.
# Idempotent: packages already present are not fetched again. Run as root (or with sudo).
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v c++ >/dev/null 2>&1 || need+=(g++)   # the unrar crate builds the UnRAR C++ source
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo (Rust 1.95) is required" >&2; exit 1; }
