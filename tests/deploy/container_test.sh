#!/usr/bin/env bash
# Container test: builds the nasd image (deploy/Dockerfile) with podman from a
# Debian 12 base image made here with debootstrap (no registry is reachable),
# runs it with host networking inside the linux-nfs-client tool's network
# namespace and mounts it (NFSv3) from the tool's Linux guest, which writes,
# reads back and lists files.  Run as root: `make container-test`.
#
# Part of `make test`.  Measured on the 2-core CI machine (shared): from
# scratch ~8.5 min (debootstrap + import 105 s, podman build with apt and a
# full compile 383 s, VM run ~25 s); with the base image cached (kept as
# localhost/nasd-base:bookworm; NASD_REBUILD_BASE=1 makes it again) ~3.5 min.
# Later runs on the same machine reuse the podman layers (the base, both apt
# layers) and the build stage's ccache cache mount, so only changed sources
# are compiled.
# apt inside `podman build` reaches the Debian mirror here (host network).
#
# Needs: podman, runc, debootstrap (installed when missing), and on this kind
# of machine a containers.conf drop-in selecting runc and lower default
# ulimits (written to /etc/containers/containers.conf.d/ when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT_DIR=$PWD
TOOL=${LNC_TOOL:-$ROOT_DIR/../shared/tools/linux-nfs-client}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
die() { echo "container_test: FAIL: $*" >&2; exit 1; }
log() { echo "container_test: $(date +%T) $*" >&2; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$TOOL" ] || die "linux-nfs-client tool not found at $TOOL (set LNC_TOOL)"

missing=""
for p in podman runc debootstrap; do command -v "$p" >/dev/null || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing$missing"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 podman runc debootstrap >/dev/null; }
  apt_install || { apt-get update -q >/dev/null && apt_install; }  # fresh machine: no package lists yet
fi
conf=/etc/containers/containers.conf.d/50-nasd-runc.conf
if [ ! -e "$conf" ]; then
  mkdir -p "$(dirname "$conf")"
  cat > "$conf" <<'CONF'
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
CONF
fi

TMP=$(mktemp -d /tmp/nasd-ctr-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
t0=$SECONDS

BASE=localhost/nasd-base:bookworm
if [ "${NASD_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE"; then
  log "debootstrap bookworm (minbase) from $MIRROR"
  debootstrap --variant=minbase bookworm "$TMP/rootfs" "$MIRROR" > "$TMP/debootstrap.log" 2>&1 ||
    { tail -20 "$TMP/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$TMP/rootfs/var/cache/apt/archives/"*.deb "$TMP/rootfs/var/lib/apt/lists/"*
  tar -C "$TMP/rootfs" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$TMP/rootfs"
  log "base image imported after $((SECONDS - t0)) s"
fi

t1=$SECONDS
log "podman build (apt in the build uses the host network)"
podman build --network host --build-arg BASE="$BASE" -f deploy/Dockerfile -t localhost/nasd:test . \
  > "$TMP/build.log" 2>&1 || { tail -30 "$TMP/build.log" >&2; die "podman build failed"; }
log "image built in $((SECONDS - t1)) s"

EXP=$TMP/export
mkdir -p "$EXP" && chmod 0777 "$EXP"
echo "from the host" > "$EXP/host-file"
cat > "$TMP/guest.sh" <<'GUEST'
set -e
cd "$1"
test "$(cat host-file)" = "from the host"
head -c 5000000 /dev/urandom > big
sum1=$(sha256sum < big)
echo 3 > /proc/sys/vm/drop_caches
sum2=$(sha256sum < big)
[ "$sum1" = "$sum2" ]
mkdir d && echo hi > d/f && mv d/f d/g && ls d | grep -qx g
ln -s big link && test "$(readlink link)" = big
rm -r d link
echo "guest: all checks passed"
GUEST

t2=$SECONDS
log "running the image under linux-nfs-client (NFSv3)"
# `ip netns exec` (how the tool enters its namespace) mounts a fresh /sys
# without the cgroup hierarchies, and runc refuses to start without them:
# mount the host's hierarchies again there (its mount namespace is private).
{
  echo 'set -e'
  echo 'mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup'
  findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS | while read -r target fstype opts; do
    sub=$(printf '%s' "$opts" | tr ',' '\n' | grep -Ev '^(rw|ro|relatime|nosuid|nodev|noexec|seclabel)$' | paste -sd, - || true)
    echo "mkdir -p '$target' && mount -t $fstype ${sub:+-o $sub} $fstype '$target'"
  done
} > "$TMP/cgroups.sh"
cgroups="bash $TMP/cgroups.sh"
caps=DAC_READ_SEARCH,SETUID,SETGID,CHOWN,FOWNER,DAC_OVERRIDE,FSETID
# While it serves, record the process's identity and capability sets.
probe="for i in \$(seq 60); do podman exec nasd-ctr-test grep -E '^(Uid|Cap(Inh|Prm|Eff|Bnd|Amb)):' /proc/1/status > $TMP/status 2>/dev/null && break; sleep 1; done"
"$TOOL" --no-private-run --server-grace 15 --server-log "$TMP/server.log" --timeout 400 \
  --server-cmd "$cgroups || exit 1; ($probe) & exec podman run --rm --name nasd-ctr-test --network host --cap-drop=all --cap-add=$caps -v $EXP:/export localhost/nasd:test" \
  --export /export --vers 3 \
  --mount-opts 'proto=tcp,port=2049,mountproto=tcp,mountport=20048,nolock' \
  --script "$TMP/guest.sh" || { tail -30 "$TMP/server.log" >&2; die "guest run failed"; }
log "guest run took $((SECONDS - t2)) s"
[ "$(stat -c %s "$EXP/big")" = 5000000 ] || die "file written by the guest is not on the host"
# nasd ran with exactly the documented capabilities (docs/operations.md):
# CHOWN(0) DAC_OVERRIDE(1) DAC_READ_SEARCH(2) FOWNER(3) FSETID(4) SETGID(6)
# SETUID(7) = 0xdf, as uid 0 of the container, nothing else (no SYS_ADMIN,
# not privileged).
[ -s "$TMP/status" ] || die "could not read the capabilities of nasd in the container"
sed 's/^/container_test: nasd in the container: /' "$TMP/status" >&2
grep -Eq '^CapEff:[[:space:]]+00000000000000df$' "$TMP/status" || die "effective capabilities are not exactly the documented set"
grep -Eq '^CapBnd:[[:space:]]+00000000000000df$' "$TMP/status" || die "bounding set is not exactly the documented set"
log "PASS (total $((SECONDS - t0)) s)"
