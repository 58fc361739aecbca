#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser) and benchmarks/browser.py.
#
# Playwright cannot download its own browsers here, so the tests drive /usr/bin/chromium
# through `executable_path`. Idempotent: does nothing when /usr/bin/chromium is there.
# Needs root (or sudo) and apt; fails loudly otherwise. Set MEZON_NB_SKIP_BROWSER=1 to skip
# the install on a machine that will not run the browser tier (the tests then fail, not skip).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if [[ "${MEZON_NB_SKIP_BROWSER:-}" == "1" ]]; then
  echo "install_browser: MEZON_NB_SKIP_BROWSER=1, not installing chromium" >&2
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install_browser: $CHROMIUM is missing and this is not root (no sudo): install the" \
         "Debian package 'chromium' by hand" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: $CHROMIUM is missing and apt-get is not available: install Chromium" \
       "at $CHROMIUM (or point MEZON_NB_CHROMIUM at one)" >&2
  exit 1
fi

echo "install_browser: installing Debian chromium (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
  echo "install_browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version >&2
