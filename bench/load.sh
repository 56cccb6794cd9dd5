#!/usr/bin/env bash
# Load benchmark: builds Newsdesk in release mode, starts it on a fresh SQLite database with the
# demo content, and measures each endpoint with wrk (installed from Debian if missing):
# requests/s, p50, p99, errors, and the server's peak RSS. /healthz is measured in the same run
# as the ceiling of the HTTP stack on this machine; every other endpoint is shown as a ratio.
#
#   bash bench/load.sh                      # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_bench bash bench/load.sh
#
# DURATION (seconds, default 10) and CONNECTIONS (default 64) can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18090}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -q
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

url=${DATABASE_URL:-sqlite://newsdesk.db}
(cd "$work" && exec env DATABASE_URL="$url" BIND_ADDRESS="127.0.0.1:$PORT" LOG_FILTER=warn \
  JWT_SECRET="bench-only-secret-0123456789abcdef0123456789" \
  "$OLDPWD/target/release/newsdesk" serve --demo >"$work/out" 2>"$work/err") &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

measure() { # name path → "name rps p50 p99 errors"
  local report
  report=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$2")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$report")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  errors=$(awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print (s == "" ? "0" : s)}' <<<"$report")
  echo "$1|$rps|$p50|$p99|$errors"
}

results=()
results+=("$(measure healthz /healthz)")
results+=("$(measure languages /api/v1/languages)")
results+=("$(measure language /api/v1/languages/ka)")
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")

ceiling=$(cut -d'|' -f2 <<<"${results[0]}")
printf '\n%-12s %12s %8s %10s %10s  %s\n' endpoint "requests/s" "ratio" p50 p99 errors
for row in "${results[@]}"; do
  IFS='|' read -r name rps p50 p99 errors <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.0f%%", 100 * a / b}')
  printf '%-12s %12s %8s %10s %10s  %s\n' "$name" "$rps" "$ratio" "$p50" "$p99" "$errors"
done
printf '\npeak RSS: %d MB (%s connections, %ss per endpoint, backend %s)\n' \
  $((peak_kb / 1024)) "$CONNECTIONS" "$DURATION" "${url%%:*}"
