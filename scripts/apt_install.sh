#!/usr/bin/env bash
# apt_install.sh WHO BINARY PACKAGE...: make sure BINARY exists, installing the Debian PACKAGEs
# with apt-get if it does not. Shared by install_browser.sh and install_test_services.sh.
#
# Idempotent (nothing happens when BINARY is there). Needs root (or passwordless sudo) and
# apt; fails loudly otherwise, naming WHO (the calling script). apt runs under
# `flock /tmp/apt.lock`, so parallel installs on one machine queue instead of failing.
set -euo pipefail

WHO=$1 BINARY=$2
shift 2

if [[ -x "$BINARY" ]]; then
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "$WHO: $BINARY is missing and this is not root (no sudo): install the Debian" \
         "package(s) $* by hand" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$WHO: $BINARY is missing and apt-get is not available: install $* by hand" >&2
  exit 1
fi

echo "$WHO: installing Debian $* (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" flock /tmp/apt.lock apt-get update -qq
"${SUDO[@]}" flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "$@" >/dev/null

if [[ ! -x "$BINARY" ]]; then
  echo "$WHO: apt-get finished but $BINARY is still missing" >&2
  exit 1
fi
