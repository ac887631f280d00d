#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free loopback port, exported as
# TTS_TEST_REDIS_URL (`make test`) or as the variable named by --export (`make bench` uses
# TTS_BENCH_REDIS_URL); the server and its folder are removed on every exit path.
#   usage: with-redis.sh [--export VARIABLE] COMMAND [ARGS…]
set -euo pipefail
variable=TTS_TEST_REDIS_URL
if [ "${1:-}" = "--export" ]; then
  [ -n "${2:-}" ] || { echo "with-redis.sh: --export needs a variable name" >&2; exit 2; }
  variable=$2
  shift 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/tts-test-redis.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

command -v redis-server >/dev/null || { echo "redis-server is not installed: run 'make deps'" >&2; exit 2; }
port=""
for _ in $(seq 1 20); do
  candidate=$(( (RANDOM % 30000) + 20000 ))
  redis-server --port "$candidate" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --pidfile "$dir/redis.pid" --daemonize no --loglevel warning >"$dir/redis.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$candidate" ping 2>/dev/null | grep -q PONG; then port=$candidate; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
done
[ -n "$port" ] || { echo "could not start redis-server on a free port; its log:" >&2; cat "$dir/redis.log" >&2; exit 2; }

export "$variable=redis://127.0.0.1:$port"
echo "redis-server on loopback: $variable=redis://127.0.0.1:$port"
set +e
"$@"
status=$?
exit $status
