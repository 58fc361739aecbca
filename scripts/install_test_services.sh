#!/usr/bin/env bash
# Debian services the test suite starts on loopback: coturn (a real TURN server, used by
# tests/media/test_turn.py). Idempotent: does nothing when /usr/bin/turnserver is there.
# Needs root (or sudo) and apt; apt runs under `flock /tmp/apt.lock` so parallel installs on
# one machine queue instead of failing. The package's own system service is not started
# (the tests run their own turnserver on 127.0.0.1 free ports and stop it).
set -euo pipefail

TURNSERVER=/usr/bin/turnserver

if [[ -x "$TURNSERVER" ]]; then
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install_test_services: $TURNSERVER is missing and this is not root (no sudo):" \
         "install the Debian package 'coturn' by hand" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_test_services: $TURNSERVER is missing and apt-get is not available:" \
       "install coturn (it provides turnserver)" >&2
  exit 1
fi

echo "install_test_services: installing Debian coturn (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" flock /tmp/apt.lock apt-get update -qq
"${SUDO[@]}" flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends coturn >/dev/null

if [[ ! -x "$TURNSERVER" ]]; then
  echo "install_test_services: apt-get finished but $TURNSERVER is still missing" >&2
  exit 1
fi
