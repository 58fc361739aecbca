#!/usr/bin/env bash
# Debian's stress-ng, the background load of `make test-under-load` (scripts/test_under_load.sh).
# Idempotent; see apt_install.sh. When it cannot install (not root, no apt), test_under_load.sh
# keeps a core busy with a Python loop instead.
set -euo pipefail

bash "$(dirname "$0")/apt_install.sh" install_stress /usr/bin/stress-ng stress-ng
