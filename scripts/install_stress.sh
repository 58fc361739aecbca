#!/usr/bin/env bash
# Debian's stress-ng, the background load of `make test-under-load` (scripts/test_under_load.sh).
#
# Idempotent: does nothing when stress-ng is on PATH. Needs root (or sudo) and apt; exits 1
# with a message otherwise, and test_under_load.sh then keeps a core busy with a Python loop.
set -euo pipefail

if command -v stress-ng >/dev/null 2>&1; then
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install_stress: stress-ng is missing and this is not root (no sudo)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_stress: stress-ng is missing and apt-get is not available" >&2
  exit 1
fi

echo "install_stress: installing Debian stress-ng (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
command -v stress-ng >/dev/null 2>&1 || { echo "install_stress: stress-ng still missing" >&2; exit 1; }
