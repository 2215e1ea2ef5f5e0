#!/usr/bin/env bash
# Prometheus scrapes nasd: starts Debian's real prometheus server with a
# generated config (1 s scrape interval) pointing at a nasd on loopback,
# drives NFS traffic with libnfs-utils (nfs-cp, nfs-ls), then asserts through
# Prometheus's HTTP query API (/api/v1/query) that the expected series exist
# and moved.  Installs prometheus if missing without starting its daemon
# (temporary policy-rc.d).  Bounded: every wait has a deadline; < 2 min.
#
#   tests/deploy/prometheus_test.sh build/nasd
set -euo pipefail
NASD=$(realpath "${1:?usage: $0 path/to/nasd}")
die() { echo "prometheus_test: FAIL: $*" >&2; exit 1; }
log() { echo "prometheus_test: $*" >&2; }

if ! command -v prometheus >/dev/null || ! command -v nfs-cp >/dev/null; then
  [ "$(id -u)" = 0 ] || die "prometheus/libnfs-utils missing and not root"
  policy=/usr/sbin/policy-rc.d; own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1; fi
  rc=0
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=300 prometheus libnfs-utils >/dev/null; }
  apt_install || { apt-get update -q >/dev/null; apt_install; } || rc=$?
  [ "$own_policy" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install prometheus libnfs-utils failed"
fi

TMP=$(mktemp -d /tmp/nasd-prom-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${ok:-0}" != 1 ]; then
    echo "--- nasd log"; tail -20 "$TMP/nasd.log" 2>/dev/null
    echo "--- prometheus log"; tail -20 "$TMP/prometheus.log" 2>/dev/null
  fi >&2
  rm -rf "$TMP"
}
trap cleanup EXIT

free_ports() {  # N free loopback TCP ports
  python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
read -r NFS_PORT MOUNT_PORT METRICS_PORT PROM_PORT < <(free_ports 4)
mkdir -p "$TMP/exp" "$TMP/state" "$TMP/tsdb"
chmod 0777 "$TMP/exp"

"$NASD" --bind 127.0.0.1 --nfs-port "$NFS_PORT" --mount-port "$MOUNT_PORT" \
  --metrics "127.0.0.1:$METRICS_PORT" --state-dir "$TMP/state" \
  --export "$TMP/exp *(rw,no_root_squash,insecure,fsid=7)" > "$TMP/nasd.log" 2>&1 &
pids+=($!)

cat > "$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: nasd
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
YML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$TMP/prometheus.log" 2>&1 &
pids+=($!)

# query EXPR -> prints the sum of the result vector's values, or "none".
query() {
  python3 - "$PROM_PORT" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
port, expr = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
try:
    with urllib.request.urlopen(url, timeout=5) as r:
        d = json.load(r)
except Exception:
    print("none"); sys.exit(0)
res = d.get("data", {}).get("result", []) if d.get("status") == "success" else []
print(sum(float(x["value"][1]) for x in res) if res else "none")
PY
}
# wait_for EXPR CONDITION SECONDS: polls until python's `v CONDITION` holds.
wait_for() {
  local deadline=$((SECONDS + $3)) v
  while :; do
    v=$(query "$1")
    if [ "$v" != none ] && python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if v $2 else 1)" "$v"; then
      echo "$v"; return 0
    fi
    [ $SECONDS -lt $deadline ] || { log "last value of $1: $v"; return 1; }
    sleep 0.5
  done
}

log "waiting for the first scrape"
wait_for 'up{job="nasd"}' '== 1' 60 >/dev/null || die "Prometheus never scraped nasd"
before_writes=$(wait_for 'nasd_rpc_requests_total{program="nfs3",procedure="WRITE"}' '>= 0' 10) ||
  die "no nasd_rpc_requests_total series for WRITE"
before_conns=$(query 'nasd_connections_total')

log "driving traffic with nfs-cp/nfs-ls"
URL="nfs://127.0.0.1$TMP/exp"
Q="?version=3&nfsport=$NFS_PORT&mountport=$MOUNT_PORT"
head -c 3000000 /dev/urandom > "$TMP/payload"
timeout 60 nfs-cp "$TMP/payload" "$URL/payload$Q" >/dev/null || die "nfs-cp to nasd failed"
timeout 60 nfs-cp "$URL/payload$Q" "$TMP/back" >/dev/null || die "nfs-cp from nasd failed"
cmp -s "$TMP/payload" "$TMP/back" || die "read-back differs"
timeout 60 nfs-ls "$URL$Q" | grep -q payload || die "nfs-ls does not list the file"

log "checking series through the query API"
wait_for 'nasd_rpc_requests_total{program="nfs3",procedure="WRITE"}' "> $before_writes" 20 >/dev/null ||
  die "WRITE requests did not move"
wait_for 'nasd_write_bytes_total' '>= 3000000' 20 >/dev/null || die "nasd_write_bytes_total did not reach 3000000"
wait_for 'nasd_read_bytes_total' '>= 3000000' 20 >/dev/null || die "nasd_read_bytes_total did not reach 3000000"
wait_for "nasd_export_write_bytes_total{export=\"7\",path=\"$TMP/exp\"}" '>= 3000000' 20 >/dev/null ||
  die "per-export write bytes did not move"
wait_for 'nasd_rpc_requests_total{program="mount3",procedure="MNT"}' '>= 3' 20 >/dev/null ||
  die "MNT requests did not move"
wait_for 'nasd_rpc_requests_total{program="nfs3",procedure="READDIRPLUS"} or nasd_rpc_requests_total{program="nfs3",procedure="READDIR"}' '> 0' 20 >/dev/null ||
  die "no READDIR(PLUS) counted for nfs-ls"
wait_for "nasd_connections_total" "> ${before_conns/none/0}" 20 >/dev/null || die "connections_total did not move"
wait_for 'sum(nasd_rpc_request_duration_seconds_count{procedure="WRITE"})' "> 0" 20 >/dev/null ||
  die "no WRITE latency observations"
wait_for 'histogram_quantile(0.99, sum by (le) (rate(nasd_rpc_request_duration_seconds_bucket{procedure="WRITE"}[1m])))' '>= 0' 20 >/dev/null ||
  die "WRITE p99 not computable"
wait_for 'nasd_build_info{version!=""}' '== 1' 5 >/dev/null || die "no nasd_build_info"
wait_for 'nasd_pool_allocations_total' '> 0' 5 >/dev/null || die "no pool allocations counted"
wait_for 'nasd_exports_last_reload_successful' '== 1' 5 >/dev/null || die "no reload gauge"
ok=1
log "PASS"
