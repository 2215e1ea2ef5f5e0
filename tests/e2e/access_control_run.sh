#!/bin/bash
# Access control through the real Linux client (issue 5): one nasd serves five
# exports — ro, root_squash, all_squash,anonuid=2000, secure, and a plain rw
# one with a 0755 directory per user — and tests/e2e/access_control.sh runs
# in the linux-nfs-client VM as root and as uids 1000 / 1001 over NFSv3 and
# NFSv4.2.  Afterwards this script checks on the server side (the export
# directories on this host) who owns what was created, and that nothing in
# the ro export changed.  One VM run, about 1.5 min.
#
# Usage (as root): bash tests/e2e/access_control_run.sh SERVER_BINARY   (make e2e-access)
# Environment: ACCESS_VERS="3 4.2" (versions to run), E2E_LOG_DIR, E2E_TIMEOUT,
#              LNC_TOOL, E2E_VERBOSE=1 (see tests/e2e/run.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROG="tests/e2e/access_control_run.sh"
die() { echo "$PROG: error: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: $PROG SERVER_BINARY"
[ "$(id -u)" = 0 ] || die "must run as root (linux-nfs-client)"
SERVER_BIN=$(realpath -e "$1" 2>/dev/null) || die "server binary '$1' not found"
LNC="${LNC_TOOL:-$(cd "$ROOT/.." && pwd)/shared/tools/linux-nfs-client}"
[ -x "$LNC" ] || die "linux-nfs-client not found at $LNC (set LNC_TOOL)"
read -ra VERSIONS <<< "${ACCESS_VERS:-3 4.2}"
LOG_DIR="${E2E_LOG_DIR:-$ROOT/build/e2e-logs-access}"
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nasd-access.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
B="$TMP/exports"
mkdir -p "$B"/{ro/dir,rsq,asq,sec,rw/a,rw/b} "$TMP/state"
chmod 755 "$B" "$B"/{ro,ro/dir,sec,rw}
printf 'ro data\n' > "$B/ro/file"; chmod 644 "$B/ro/file"
printf 'root only\n' > "$B/rsq/secret"; chmod 600 "$B/rsq/secret"
chmod 1777 "$B/rsq" "$B/asq"
chown 1000:1000 "$B/rw/a"; chown 1001:1001 "$B/rw/b"; chmod 755 "$B/rw/a" "$B/rw/b"
ro_before=$(cd "$B/ro" && find . -printf '%p %m %u:%g %s %T@\n' | sort)

SERVER_ARGV=("$SERVER_BIN"
    --export "$B/ro *(ro,no_root_squash,insecure)"
    --export "$B/rsq *(rw,root_squash,insecure)"
    --export "$B/asq *(rw,all_squash,anonuid=2000,anongid=2000,insecure)"
    --export "$B/sec *(rw,no_root_squash,secure)"
    --export "$B/rw *(rw,no_root_squash,insecure)"
    --bind 0.0.0.0 --nfs-port 2049 --mount-port 20048 --portmapper off
    --state-dir "$TMP/state" --log-level info --grace-period 0)
VERBOSE=()
[ "${E2E_VERBOSE:-0}" = 1 ] && VERBOSE=(-v)
echo "$PROG: exports under $B; versions ${VERSIONS[*]}; logs in $LOG_DIR"
T0=$(date +%s)
rc=0
"$LNC" "${VERBOSE[@]}" --server-cmd "exec $(printf '%q ' "${SERVER_ARGV[@]}")" \
    --export "$B/rw" --vers 3 --no-mount \
    --server-log "$LOG_DIR/server.log" --dmesg "$LOG_DIR/dmesg.log" \
    --timeout "${E2E_TIMEOUT:-600}" \
    --script "$HERE/access_control.sh" -- auto "$B" "${VERSIONS[@]}" \
    2> >(tee "$LOG_DIR/lnc-stderr.log" >&2) | tee "$LOG_DIR/guest.log" || rc=$?
wait

# ------------------------------------------------ server-side ownership checks
HP=0; HF=0
hcheck() { if [ "$2" = "$3" ]; then HP=$((HP + 1)); echo "PASS host: $1"; else HF=$((HF + 1)); echo "FAIL host: $1: want '$2', got '$3'"; fi; }
own() { stat -c '%u:%g' "$1" 2>&1; }
for V in "${VERSIONS[@]}"; do
    S="v${V/./}"
    hcheck "v$V root_squash: root's file is 65534:65534 on disk" 65534:65534 "$(own "$B/rsq/root-$S")"
    for f in root a b; do
        hcheck "v$V all_squash: $f-$S is 2000:2000 on disk" 2000:2000 "$(own "$B/asq/$f-$S")"
    done
    hcheck "v$V rw: uid B's file is 0600 1001:1001 on disk" "600 1001:1001" "$(stat -c '%a %u:%g' "$B/rw/b/secret-$S" 2>&1)"
    hcheck "v$V rw: uid B's file content unchanged" "B-secret-$S" "$(cat "$B/rw/b/secret-$S" 2>&1)"
    hcheck "v$V rw: uid A's file is 1000:1000 on disk" 1000:1000 "$(own "$B/rw/a/mine-$S")"
    hcheck "v$V rw: uid A's directory is 1000:1000 on disk" 1000:1000 "$(own "$B/rw/a/sub2-$S")"
    hcheck "v$V secure: root's file (privileged port) is 0:0 on disk" 0:0 "$(own "$B/sec/ok-$S")"
done
hcheck "rw: nothing of uid A's in uid B's directory" "" "$(ls "$B/rw/b" | grep -v '^secret-' || true)"
hcheck "ro: the export is unchanged (names, modes, owners, sizes, mtimes)" "$ro_before" \
    "$(cd "$B/ro" && find . -printf '%p %m %u:%g %s %T@\n' | sort)"
hcheck "rsq: the root-only file is unchanged" "root only" "$(cat "$B/rsq/secret")"
echo "$HP passed, $HF failed (host side)"
T1=$(date +%s)

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG_DIR/guest.log" | tail -1 || true)
if [ "$rc" = 0 ] && ! grep -Eq '^[0-9]+ passed, 0 failed$' <<< "$summary"; then rc=1; fi
[ "$HF" = 0 ] || { [ "$rc" = 0 ] && rc=1; }
if [ "$rc" = 0 ]; then
    echo "$PROG: PASSED (guest: $summary; host: $HP checks) in $((T1 - T0))s"
else
    echo "$PROG: FAILED (exit $rc; guest: ${summary:-none}; host: $HF failed) after $((T1 - T0))s; logs: $LOG_DIR" >&2
fi
exit "$rc"
