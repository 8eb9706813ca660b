#!/usr/bin/env bash
# Soak test: every vendor API's read and write scenarios, mixed, against one release-built localyun on
# 127.0.0.1 for a bounded time (default 60 s); prints requests and errors per scenario and the server's RSS.
#   scripts/soak.sh [seconds]
# Loopback only: the server and the load generator both use 127.0.0.1 and ephemeral ports.
set -euo pipefail
seconds="${1:-60}"
case "$seconds" in
  ''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
# No proxy may intercept loopback requests.
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
exec cargo bench --bench localyun -- soak "$seconds"
