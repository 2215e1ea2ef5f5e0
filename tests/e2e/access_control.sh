#!/bin/bash
# Access control through the real Linux kernel NFS client, run inside the
# linux-nfs-client VM (as root) by tests/e2e/access_control_run.sh, which
# serves five exports from one nasd and checks ownership on the server side
# afterwards.  This script mounts them itself (linux-nfs-client --no-mount).
#
# Usage (guest): access_control.sh MNT SERVER_IP BASE VERS...
#   BASE   the host directory holding the exports ro, rsq, asq, sec, rw
#   VERS   NFS versions to run the checks with, e.g. "3 4.2"
#
# Users are plain uids (no passwd entries needed): A = 1000, B = 1001, run
# with setpriv.  Prints one PASS/FAIL line per check, goes on after a
# failure, and ends with "N passed, M failed" (exit 1 when M > 0).
set -uo pipefail

SERVER=${2:?usage: $0 MNT SERVER_IP BASE VERS...}
[ "$SERVER" = auto ] && SERVER=${LNC_SERVER_IP:?}
BASE=${3:?}
shift 3
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(3)
UID_A=1000
UID_B=1001
ANON=2000                  # anonuid/anongid of the all_squash export
NOBODY=65534               # default anonuid (root_squash)

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
check() { local n=$1; shift; if "$@" >/dev/null 2>&1; then pass "$n"; else fail "$n"; fi; }
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi; }
# refused NAME 'MSG1|MSG2' CMD...: CMD must fail with one of the messages.
refused() {
    local name=$1 msgs=$2 out rc=0 m; shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then fail "$name: succeeded, expected $msgs"; return; fi
    IFS='|' read -ra ms <<< "$msgs"
    for m in "${ms[@]}"; do
        case "$out" in *"$m"*) pass "$name ($m)"; return ;; esac
    done
    fail "$name: expected $msgs, got (exit $rc): $out"
}
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
owner() { stat -c %u:%g "$1" 2>&1; }
EROFS_OR_EACCES="Read-only file system|Permission denied"

opts_for() {  # mount options for version $1 (explicit ports: no portmapper, no NLM)
    case "$1" in
        3) echo "vers=3,proto=tcp,port=2049,mountproto=tcp,mountport=20048,nolock" ;;
        *) echo "vers=$1,proto=tcp,port=2049" ;;
    esac
}
mnt() {  # mnt VERS EXPORT [extra opts]: mounts SERVER:BASE/EXPORT on /mnt/EXPORT
    mkdir -p "/mnt/$2"
    timeout 60 mount -t nfs -o "$(opts_for "$1")${3:+,$3}" "$SERVER:$BASE/$2" "/mnt/$2"
}

echo "== access_control: server $SERVER, exports under $BASE, versions ${VERSIONS[*]}, kernel $(uname -r)"

# ---------------------------------------------------- secure: port < 1024
# First, while nothing is mounted: the kernel shares one transport per
# server, so a noresvport mount next to a resvport one would reuse its port.
mkdir -p /mnt/sec
if timeout 60 mount -t nfs -o "$(opts_for 3),noresvport,soft,retrans=1,timeo=50" \
        "$SERVER:$BASE/sec" /mnt/sec 2>/tmp/sec.err; then
    refused "secure export: a non-privileged client port (noresvport) is refused" \
        "Permission denied|Operation not permitted|Input/output error" ls /mnt/sec
    umount -f /mnt/sec 2>/dev/null || umount -l /mnt/sec
else
    pass "secure export: mount from a non-privileged port (noresvport) refused: $(tr '\n' ' ' < /tmp/sec.err)"
fi

for V in "${VERSIONS[@]}"; do
    S="v${V/./}"     # per-pass suffix of the names created
    echo "== NFS vers=$V"
    for e in ro rsq asq sec rw; do check "v$V: mount $e" mnt "$V" "$e"; done

    # ------------------------------------------ secure, privileged port: works
    check "v$V secure export: default (privileged) port works" touch "/mnt/sec/ok-$S"

    # -------------------------------------------------------- ro: no changes
    R=/mnt/ro
    check_eq "v$V ro: reads work" "ro data" "$(cat $R/file 2>&1)"
    refused "v$V ro: create" "$EROFS_OR_EACCES" touch "$R/new-$S"
    refused "v$V ro: write" "$EROFS_OR_EACCES" sh -c "echo x >> $R/file"
    refused "v$V ro: mkdir" "$EROFS_OR_EACCES" mkdir "$R/dir-$S"
    refused "v$V ro: rm" "$EROFS_OR_EACCES" rm -f "$R/file"
    refused "v$V ro: rmdir" "$EROFS_OR_EACCES" rmdir "$R/dir"
    refused "v$V ro: rename" "$EROFS_OR_EACCES" mv "$R/file" "$R/moved-$S"
    refused "v$V ro: chmod" "$EROFS_OR_EACCES" chmod 600 "$R/file"
    refused "v$V ro: chown" "$EROFS_OR_EACCES|Operation not permitted" chown "$UID_A" "$R/file"
    refused "v$V ro: truncate" "$EROFS_OR_EACCES" truncate -s 0 "$R/file"
    refused "v$V ro: symlink" "$EROFS_OR_EACCES" ln -s file "$R/link-$S"
    refused "v$V ro: hard link" "$EROFS_OR_EACCES" ln "$R/file" "$R/hard-$S"
    check_eq "v$V ro: the file is unchanged" "ro data" "$(cat $R/file 2>&1)"

    # ------------------------------------------- root_squash: root is nobody
    Q=/mnt/rsq
    refused "v$V root_squash: root cannot read a root-owned 0600 file" "Permission denied" cat "$Q/secret"
    check "v$V root_squash: root creates a file" sh -c "echo by-root > $Q/root-$S"
    check_eq "v$V root_squash: it is owned by the anon uid" "$NOBODY:$NOBODY" "$(owner "$Q/root-$S")"
    refused "v$V root_squash: root cannot chown it back to root" "Operation not permitted|Invalid argument" chown 0:0 "$Q/root-$S"

    # ----------------------------- all_squash,anonuid=2000: everyone is 2000
    Z=/mnt/asq
    check "v$V all_squash: root creates a file" sh -c "echo r > $Z/root-$S"
    check "v$V all_squash: uid $UID_A creates a file" as "$UID_A" sh -c "echo a > $Z/a-$S"
    check "v$V all_squash: uid $UID_B creates a directory" as "$UID_B" mkdir "$Z/b-$S"
    check_eq "v$V all_squash: root's file owned by $ANON" "$ANON:$ANON" "$(owner "$Z/root-$S")"
    check_eq "v$V all_squash: uid $UID_A's file owned by $ANON" "$ANON:$ANON" "$(owner "$Z/a-$S")"
    check_eq "v$V all_squash: uid $UID_B's directory owned by $ANON" "$ANON:$ANON" "$(owner "$Z/b-$S")"

    # ------------------------------- rw: uid A against uid B, and its own dir
    # (a/ is uid A's 0755 directory, b/ uid B's, both made on the server)
    W=/mnt/rw
    check "v$V rw: uid B writes its 0600 file" as "$UID_B" sh -c "umask 077; echo B-secret-$S > $W/b/secret-$S"
    check_eq "v$V rw: the file is 0600 uid B" "600 $UID_B:$UID_B" "$(stat -c '%a %u:%g' "$W/b/secret-$S" 2>&1)"
    refused "v$V rw: uid A cannot read uid B's 0600 file" "Permission denied" as "$UID_A" cat "$W/b/secret-$S"
    refused "v$V rw: uid A cannot append to it" "Permission denied" as "$UID_A" sh -c "echo A >> $W/b/secret-$S"
    refused "v$V rw: uid A cannot truncate it" "Permission denied" as "$UID_A" truncate -s 0 "$W/b/secret-$S"
    refused "v$V rw: uid A cannot chmod it" "Operation not permitted" as "$UID_A" chmod 644 "$W/b/secret-$S"
    refused "v$V rw: uid A cannot chown it" "Operation not permitted|Invalid argument" as "$UID_A" chown "$UID_A" "$W/b/secret-$S"
    refused "v$V rw: uid A cannot touch its times" "Permission denied|Operation not permitted" as "$UID_A" touch -d 2001-01-01 "$W/b/secret-$S"
    refused "v$V rw: uid A cannot remove it (0755 dir of uid B)" "Permission denied" as "$UID_A" rm -f "$W/b/secret-$S"
    refused "v$V rw: uid A cannot rename it away" "Permission denied" as "$UID_A" mv "$W/b/secret-$S" "$W/a/stolen-$S"
    refused "v$V rw: uid A cannot create in uid B's 0755 dir" "Permission denied" as "$UID_A" touch "$W/b/a-was-here-$S"
    refused "v$V rw: uid A cannot mkdir in uid B's 0755 dir" "Permission denied" as "$UID_A" mkdir "$W/b/a-dir-$S"
    refused "v$V rw: uid A cannot symlink in uid B's 0755 dir" "Permission denied" as "$UID_A" ln -s x "$W/b/a-link-$S"
    check_eq "v$V rw: uid B's file is unchanged" "B-secret-$S" "$(as "$UID_B" cat "$W/b/secret-$S" 2>&1)"
    check "v$V rw: uid A writes in its own 0755 dir" as "$UID_A" sh -c "echo mine > $W/a/mine-$S"
    check "v$V rw: uid A makes a directory in its own dir" as "$UID_A" mkdir "$W/a/sub-$S"
    check "v$V rw: uid A renames in its own dir" as "$UID_A" mv "$W/a/sub-$S" "$W/a/sub2-$S"
    check_eq "v$V rw: uid A's new file is owned by uid A" "$UID_A:$UID_A" "$(owner "$W/a/mine-$S")"
    check "v$V rw: root (no_root_squash) reads uid B's 0600 file" cat "$W/b/secret-$S"

    for e in ro rsq asq sec rw; do umount "/mnt/$e" || umount -l "/mnt/$e"; done
done

# Control for the secure check above: a non-privileged port is fine on an
# insecure export (else the refusal above would prove nothing).
mkdir -p /mnt/ctl
if timeout 60 mount -t nfs -o "$(opts_for 3),noresvport" "$SERVER:$BASE/rw" /mnt/ctl; then
    check "insecure export: a non-privileged client port (noresvport) works" ls /mnt/ctl/a
    umount /mnt/ctl || umount -l /mnt/ctl
else
    fail "insecure export: mount with noresvport failed"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
