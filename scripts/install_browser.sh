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

bash "$(dirname "$0")/apt_install.sh" install_browser "$CHROMIUM" chromium fonts-dejavu-core
"$CHROMIUM" --version >&2
