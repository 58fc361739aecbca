#!/usr/bin/env bash
# Debian services the test suite starts on loopback: coturn (a real TURN server, used by
# tests/media/test_turn.py, which runs its own turnserver on 127.0.0.1 free ports and stops
# it; the package's system service is not used). Idempotent; see apt_install.sh.
set -euo pipefail

bash "$(dirname "$0")/apt_install.sh" install_test_services /usr/bin/turnserver coturn
