#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free loopback port, exported as
# TTS_TEST_REDIS_URL (`make test`) or as the variable named by --export (`make bench` uses
# TTS_BENCH_REDIS_URL), and a throwaway Redis Cluster (3 masters, one replica each unless
# --cluster-replicas 0) exported as the same name with _CLUSTER before _URL
# (TTS_TEST_REDIS_CLUSTER_URL); servers and their folder are removed on every exit path.
# The tests expect the replicas (health and stats list six nodes); the benchmarks run without them: on a two-core
# machine three more redis-servers take CPU from the hit being timed, which a cluster whose
# nodes have machines of their own does not.
#   usage: with-redis.sh [--export VARIABLE] [--cluster-replicas 0|1] COMMAND [ARGS…]
set -euo pipefail
variable=TTS_TEST_REDIS_URL
replicas=1
while true; do
  case "${1:-}" in
    --export)
      [ -n "${2:-}" ] || { echo "with-redis.sh: --export needs a variable name" >&2; exit 2; }
      variable=$2
      shift 2 ;;
    --cluster-replicas)
      [ "${2:-}" = 0 ] || [ "${2:-}" = 1 ] || { echo "with-redis.sh: --cluster-replicas takes 0 or 1" >&2; exit 2; }
      replicas=$2
      shift 2 ;;
    *) break ;;
  esac
done
nodes=$(( 3 * (1 + replicas) ))
dir=$(mktemp -d "${TMPDIR:-/tmp}/tts-test-redis.XXXXXX")
pid=""
cluster_pids=()
stop() {
  local p=$1
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$pid"
  for p in "${cluster_pids[@]}"; do stop "$p"; done
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

# The cluster: six nodes (three without replicas) on consecutive free ports (each also needs
# port+10000 for the cluster bus), joined by redis-cli, ready once every node says
# cluster_state:ok. A short node timeout lets failover tests finish in seconds.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cluster_ports=()
# Bounded: up to 10 tries, each on other ports (a port taken between the check and the
# start, by another process, makes a node fail; all are then stopped and tried elsewhere).
for _ in $(seq 1 10); do
  # Below the kernel's ephemeral range (32768+), bus ports (port + 10000) included.
  base=$(( (RANDOM % 2700) + 20000 ))
  cluster_ports=()
  for i in $(seq 0 $((nodes - 1))); do
    if port_is_free $((base + i)) && port_is_free $((base + i + 10000)); then cluster_ports+=($((base + i))); fi
  done
  [ ${#cluster_ports[@]} -eq "$nodes" ] || continue
  cluster_pids=()
  for p in "${cluster_ports[@]}"; do
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes-$p.conf" \
      --cluster-node-timeout 2000 --save '' --appendonly no --dir "$dir" --pidfile "$dir/redis-$p.pid" \
      --daemonize no --loglevel warning >"$dir/redis-$p.log" 2>&1 &
    cluster_pids+=($!)
  done
  answering=0
  for p in "${cluster_ports[@]}"; do
    for _ in $(seq 1 50); do
      if redis-cli -p "$p" ping 2>/dev/null | grep -q PONG; then answering=$((answering + 1)); break; fi
      sleep 0.1
    done
  done
  # Every answer must come from our own nodes: one that could not bind its port has exited.
  alive=0
  for p in "${cluster_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  [ "$answering" -eq "$nodes" ] && [ "$alive" -eq "$nodes" ] && break
  for p in "${cluster_pids[@]}"; do stop "$p"; done
  rm -f "$dir"/nodes-*.conf
  cluster_pids=()
  cluster_ports=()
done
[ ${#cluster_ports[@]} -eq "$nodes" ] || { echo "could not start $nodes redis-server cluster nodes on free ports" >&2; exit 2; }
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster_ports[@]}") --cluster-replicas "$replicas" --cluster-yes \
  >"$dir/cluster-create.log" 2>&1 || { echo "redis-cli --cluster create failed:" >&2; cat "$dir/cluster-create.log" >&2; exit 2; }
for p in "${cluster_ports[@]}"; do
  ok=""
  for _ in $(seq 1 100); do
    if redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "the Redis Cluster did not reach cluster_state:ok (node $p)" >&2; exit 2; }
done
# Each replica attaches to its master a moment after the join: wait (bounded) for all of them.
attached=0
for _ in $(seq 1 100); do
  attached=$(redis-cli -p "${cluster_ports[0]}" cluster nodes 2>/dev/null | grep -c slave || true)
  [ "$attached" -eq $((3 * replicas)) ] && break
  sleep 0.1
done
[ "$attached" -eq $((3 * replicas)) ] || { echo "only $attached of $((3 * replicas)) cluster replicas attached" >&2; exit 2; }
cluster_variable="${variable%_URL}_CLUSTER_URL"
cluster_url="redis+cluster://127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]},127.0.0.1:${cluster_ports[2]}"
export "$cluster_variable=$cluster_url"
echo "Redis Cluster on loopback (3 masters, $((3 * replicas)) replicas): $cluster_variable=$cluster_url"
set +e
"$@"
status=$?
exit $status
