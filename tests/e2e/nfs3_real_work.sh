#!/bin/bash
# End-to-end "real work" test for an NFSv3 server, run by the real Linux
# kernel NFS client inside the linux-nfs-client VM (as root, cwd = mount).
#
# Usage (guest): nfs3_real_work.sh MNT [SERVER_IP [restart|no-restart [CONTROL_PORT [VERS]]]]
#   MNT           the NFS mount (linux-nfs-client passes /mnt/nfs)
#   SERVER_IP     where the restart supervisor listens ("auto" or empty:
#                 $LNC_SERVER_IP, which linux-nfs-client exports in the guest)
#   restart       do the crash/restart step (default); no-restart skips it
#   CONTROL_PORT  the supervisor's TCP port (default 2050)
#   VERS          the NFS version the mount must show in /proc/mounts
#                 (vers=VERS; empty: not checked).  On an NFSv4 mount the
#                 script also mounts the same export with no options and
#                 checks that the client negotiated vers=4.2.
#
# Prints one "PASS ..." / "FAIL ..." line per check, stops at the first
# failure (exit 1) and always ends with the line "N passed, M failed".
set -Eeuo pipefail

MNT="${1:?usage: $0 MNT [SERVER_IP [restart|no-restart [CONTROL_PORT]]]}"
SERVER_IP="${2:-auto}"
[ "$SERVER_IP" = auto ] && SERVER_IP="${LNC_SERVER_IP:-}"
RESTART_MODE="${3:-restart}"
CONTROL_PORT="${4:-2050}"
EXPECT_VERS="${5:-}"
W="$MNT/e2e-work"           # everything this script creates on the mount
L=/tmp/e2e-local            # guest-local scratch space (not on NFS)
SRC_TREES=(/usr/include /usr/lib/git-core)   # "real" trees copied to the mount
# E2E_DRY_RUN=1: developer self-test of this script on a local directory
# (no NFS check, no drop_caches, small trees); never used in the VM.
DRY_RUN="${E2E_DRY_RUN:-0}"
# parts of the copied tree that go into the git repo (~170 files)
GIT_DIRS=(tree/include/linux/netfilter tree/include/linux/usb tree/include/linux/tc_act tree/include/asm-generic)
if [ "$DRY_RUN" = 1 ]; then
    SRC_TREES=(/usr/include/linux /usr/lib/git-core)
    GIT_DIRS=(tree/linux/netfilter tree/linux/usb tree/linux/tc_act)
fi
FIRST=$(basename "${SRC_TREES[0]}")
NOBODY_UID=1000             # unprivileged uid/gid for the EACCES checks

PASSED=0
FAILED=0
T0=$SECONDS

summary() { echo "$PASSED passed, $FAILED failed"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS [%4ds] %s\n' $((SECONDS - T0)) "$*"; }
fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL [%4ds] %s\n' $((SECONDS - T0)) "$*"
    summary
    exit 1
}
# Any command failing outside a check (set -e) is a failure too: remember where
# (ERR, also inside functions thanks to set -E) and report it on exit.
ERR_AT=""
trap 'ERR_AT="line $LINENO: $BASH_COMMAND (exit $?)"' ERR
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
        FAILED=1
        printf 'FAIL [%4ds] unexpected error at %s\n' $((SECONDS - T0)) "${ERR_AT:-exit status $rc}"
        summary
    fi
}
trap on_exit EXIT

# check NAME CMD...: PASS if CMD succeeds, else FAIL and stop.
check() {
    local name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
# check_eq NAME WANT GOT
check_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}
# expect_err NAME MESSAGE CMD...: CMD must fail and its stderr must contain
# MESSAGE (the strerror text of the expected errno).
expect_err() {
    local name=$1 msg=$2 out rc=0; shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then fail "$name: command succeeded, expected '$msg'"; fi
    case "$out" in
        *"$msg"*) pass "$name ($msg)" ;;
        *) fail "$name: expected '$msg', got (exit $rc): $out" ;;
    esac
}
# Write back dirty data and throw away the client's page/dentry/inode caches
# so the following reads really go to the server.
drop_caches() { sync; [ "$DRY_RUN" = 1 ] || echo 3 > /proc/sys/vm/drop_caches; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# sha256 of every regular file under DIR, relative names, sorted
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }
# type, mode, owner, size, mtime (ns), symlink target and name of every
# entry; no size for directories (depends on the server's file system), no
# mtime for symlinks (cp -a sets it, but servers need not support that:
# Ganesha's FSAL VFS does not)
tree_meta() {
    (cd "$1" && { find . -type f -printf '%y %m %u:%g %s %T@ %p\n'
                  find . -type l -printf '%y %m %u:%g %s - %p -> %l\n'
                  find . -type d -printf '%y %m %u:%g - %T@ %p\n'
                  find . ! -type f ! -type l ! -type d -printf '%y %m %u:%g %s %T@ %p\n'; } | LC_ALL=C sort)
}
as_user() { setpriv --reuid=$NOBODY_UID --regid=$NOBODY_UID --clear-groups "$@"; }

echo "== nfs3_real_work: $(grep " $MNT " /proc/mounts || echo "$MNT not in /proc/mounts")"
echo "== kernel $(uname -r), server ${SERVER_IP:-?}, restart step: $RESTART_MODE"
[ "$DRY_RUN" = 1 ] || check "mount point is an NFS mount" grep -Eq " $MNT nfs4? " /proc/mounts
if [ "$DRY_RUN" != 1 ] && [ -n "$EXPECT_VERS" ]; then
    check_eq "mount negotiated NFS version" "vers=$EXPECT_VERS" \
        "$(awk -v m="$MNT" '$2 == m {print $4}' /proc/mounts | tr , '\n' | grep '^vers=' || true)"
fi
if [ "$DRY_RUN" != 1 ] && [ "$(awk -v m="$MNT" '$2 == m {print $3}' /proc/mounts)" = nfs4 ]; then
    # A plain mount (no vers, no port option) must get the newest version.
    PLAIN=/tmp/e2e-plain-mount
    mkdir -p "$PLAIN"
    if mount -t nfs "$(awk -v m="$MNT" '$2 == m {print $1}' /proc/mounts)" "$PLAIN"; then
        got=$(awk -v m="$PLAIN" '$2 == m {print $4}' /proc/mounts | tr , '\n' | grep '^vers=' || true)
        umount "$PLAIN"
        check_eq "mount with no options negotiates NFSv4.2" "vers=4.2" "$got"
    else
        fail "mount with no options of $(awk -v m="$MNT" '$2 == m {print $1}' /proc/mounts)"
    fi
fi
rm -rf "$W" "$L"
mkdir -p "$W" "$L"
cd "$W"

# ------------------------------------------------ 0. NFSv4.2 operations
# Only on an NFSv4.2 mount: ALLOCATE (fallocate -l), DEALLOCATE (fallocate
# --punch-hole), SEEK (lseek SEEK_DATA/SEEK_HOLE), CLONE / COPY (cp
# --reflink=auto falls back to copy_file_range when the export's filesystem
# cannot reflink), COPY (copy_file_range) and the RFC 8276 xattr operations
# (setfattr/getfattr on user.*).  lseek and copy_file_range come from a small
# C program compiled in the guest (the image has gcc, not python3).
nfs42_ops() {
    mkdir v42
    cat > "$L/v42.c" <<'CEOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* v42 seek FILE OFFSET data|hole  -> prints the offset or "ENXIO"
   v42 copy SRC DST                -> copy_file_range of all of SRC, prints bytes */
int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "seek")) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { perror("open"); return 2; }
        off_t r = lseek(fd, strtoll(argv[3], 0, 10), !strcmp(argv[4], "data") ? SEEK_DATA : SEEK_HOLE);
        if (r < 0) { puts(errno == ENXIO ? "ENXIO" : strerror(errno)); return 0; }
        printf("%lld\n", (long long)r);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "copy")) {
        int in = open(argv[2], O_RDONLY), out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        struct stat st;
        if (in < 0 || out < 0 || fstat(in, &st) != 0) { perror("open"); return 2; }
        long long done = 0;
        while (done < st.st_size) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, st.st_size - done, 0);
            if (n < 0) { perror("copy_file_range"); return 1; }
            if (n == 0) break;
            done += n;
        }
        if (fsync(out) != 0) { perror("fsync"); return 1; }
        printf("%lld\n", done);
        return 0;
    }
    fprintf(stderr, "usage\n");
    return 2;
}
CEOF
    check "compile the lseek/copy_file_range helper" gcc -O1 -Wall -Werror -o "$L/v42" "$L/v42.c"
    local MiB=1048576
    # ALLOCATE
    check "fallocate -l 8M (ALLOCATE)" fallocate -l 8M v42/alloc.bin
    check_eq "size after fallocate -l 8M" $((8 * MiB)) "$(stat -c %s v42/alloc.bin)"
    check "fallocate -l 8M allocated at least 8 MiB of blocks" \
        test "$(( $(stat -c %b v42/alloc.bin) * $(stat -c %B v42/alloc.bin) ))" -ge $((8 * MiB))
    # DEALLOCATE: punch the middle MiB of 3 MiB of random data
    head -c $((3 * MiB)) /dev/urandom > "$L/punch"
    cp "$L/punch" v42/punch.bin
    sync
    local blocks_before; blocks_before=$(stat -c %b v42/punch.bin)
    check "fallocate --punch-hole -o 1M -l 1M (DEALLOCATE)" fallocate --punch-hole -o $MiB -l $MiB v42/punch.bin
    fallocate --punch-hole -o $MiB -l $MiB "$L/punch"
    drop_caches
    check_eq "size unchanged by the punched hole" $((3 * MiB)) "$(stat -c %s v42/punch.bin)"
    check "blocks dropped by at least 1 MiB (was $blocks_before, now $(stat -c %b v42/punch.bin))" \
        test $(( (blocks_before - $(stat -c %b v42/punch.bin)) * 512 )) -ge $MiB
    check_eq "punched file contents (zeros in the hole) after drop_caches" "$(sha "$L/punch")" "$(sha v42/punch.bin)"
    # SEEK
    check_eq "SEEK_HOLE from 0 finds the punched hole" $MiB "$("$L/v42" seek v42/punch.bin 0 hole)"
    check_eq "SEEK_DATA from the hole finds the data after it" $((2 * MiB)) "$("$L/v42" seek v42/punch.bin $MiB data)"
    check_eq "SEEK_HOLE in the last data finds end of file" $((3 * MiB)) "$("$L/v42" seek v42/punch.bin $((2 * MiB)) hole)"
    check_eq "SEEK_DATA at end of file is ENXIO" ENXIO "$("$L/v42" seek v42/punch.bin $((3 * MiB)) data)"
    # CLONE / COPY
    check "cp --reflink=auto (CLONE, or COPY where the filesystem cannot reflink)" \
        cp --reflink=auto v42/punch.bin v42/reflink.bin
    drop_caches
    check_eq "cp --reflink=auto copy is byte for byte equal" "$(sha "$L/punch")" "$(sha v42/reflink.bin)"
    head -c $((21 * MiB + 12345)) /dev/urandom > "$L/copysrc"
    cp "$L/copysrc" v42/copysrc.bin
    sync
    check_eq "copy_file_range of 21 MiB (several COPYs) reports every byte" \
        $((21 * MiB + 12345)) "$("$L/v42" copy v42/copysrc.bin v42/copydst.bin)"
    drop_caches
    check_eq "copy_file_range copy is byte for byte equal after drop_caches" "$(sha "$L/copysrc")" "$(sha v42/copydst.bin)"
    # xattrs (RFC 8276)
    check "setfattr -n user.color (SETXATTR)" setfattr -n user.color -v blue v42/punch.bin
    check "setfattr of a second attribute" setfattr -n user.shape -v round v42/punch.bin
    check "setfattr on a directory" setfattr -n user.dir -v yes v42
    drop_caches
    check_eq "getfattr -n user.color (GETXATTR)" blue "$(getfattr --only-values -n user.color v42/punch.bin)"
    check_eq "getfattr -d lists both (LISTXATTRS)" "user.color=\"blue\" user.shape=\"round\"" \
        "$(getfattr -d v42/punch.bin 2>/dev/null | grep '^user\.' | sort | tr '\n' ' ' | sed 's/ $//')"
    check_eq "getfattr on the directory" yes "$(getfattr --only-values -n user.dir v42)"
    check "setfattr replaces a value" setfattr -n user.color -v green v42/punch.bin
    check_eq "replaced value read back" green "$(getfattr --only-values -n user.color v42/punch.bin)"
    check "setfattr -x user.color (REMOVEXATTR)" setfattr -x user.color v42/punch.bin
    expect_err "getfattr of a removed attribute" "No such attribute" getfattr -n user.color v42/punch.bin
    check_eq "the file data is untouched by xattrs" "$(sha "$L/punch")" "$(sha v42/punch.bin)"
    rm -rf v42
    # The client really sent the 4.2 operations (it emulates some of them
    # when the server answers NOTSUPP): per-op counts from mountstats.
    local op n
    for op in ALLOCATE DEALLOCATE SEEK CLONE COPY GETXATTR SETXATTR LISTXATTRS REMOVEXATTR READ_PLUS; do
        n=$(awk -v mnt=" $MNT " -v op="$op:" '
            $1 == "device" { in_mnt = index($0, "mounted on" mnt) > 0 }
            in_mnt && $1 == op { print $2; exit }' /proc/self/mountstats)
        echo "== mountstats $op: ${n:-none} ($(awk -v mnt=" $MNT " -v op="$op:" '
            $1 == "device" { in_mnt = index($0, "mounted on" mnt) > 0 }
            in_mnt && $1 == op { print "errors " ($10 == "" ? "?" : $10); exit }' /proc/self/mountstats))"
        [ "$op" = READ_PLUS ] && continue   # used only when the client kernel enables it
        check "the client sent $op to the server" test "${n:-0}" -gt 0
    done
}
if grep -Eq " $MNT nfs4 .*vers=4\.2" /proc/mounts; then
    nfs42_ops
fi

# ---------------------------------------------------------------- 1. tree copy
for s in "${SRC_TREES[@]}"; do
    [ -d "$s" ] || fail "source tree $s missing in the guest image (extra packages?)"
done
nfiles=$(find "${SRC_TREES[@]}" -type f | wc -l)
nbytes=$(find "${SRC_TREES[@]}" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
echo "== copying ${SRC_TREES[*]}: $nfiles files, $((nbytes / 1024 / 1024)) MiB"
mkdir tree
t=$SECONDS
for s in "${SRC_TREES[@]}"; do cp -a "$s" "tree/$(basename "$s")"; done
sync
pass "cp -a of $nfiles files ($((nbytes / 1024 / 1024)) MiB) to the mount + sync in $((SECONDS - t))s"
for s in "${SRC_TREES[@]}"; do tree_sums "$s" > "$L/sums.$(basename "$s")"; done
for s in "${SRC_TREES[@]}"; do tree_meta "$s" > "$L/meta.$(basename "$s")"; done
verify_tree() {  # verify_tree ROOT LABEL [meta-only]: content, checksums and metadata equal the sources
    local root=$1 label=$2 only=${3:-} s b
    for s in "${SRC_TREES[@]}"; do
        b=$(basename "$s")
        if [ "$only" != meta-only ]; then
            check "$label: diff -r $s" diff -r --no-dereference "$s" "$root/$b"
            tree_sums "$root/$b" > "$L/sums.got"
            check "$label: sha256 list of $b matches ($(wc -l < "$L/sums.got") files)" cmp -s "$L/sums.$b" "$L/sums.got"
        fi
        tree_meta "$root/$b" > "$L/meta.got"
        if ! cmp -s "$L/meta.$b" "$L/meta.got"; then
            { diff "$L/meta.$b" "$L/meta.got" || true; } | grep '^[<>]' | sort -k8 | head -20
            fail "$label: metadata (type/mode/owner/size/mtime/symlink) of $b"
        fi
        pass "$label: type/mode/owner/size/mtime/symlink of $(wc -l < "$L/meta.got") entries in $b"
    done
}
# metadata as the client cached it after all the SETATTRs of cp -a; the
# contents are compared after drop_caches, i.e. as read from the server
verify_tree tree "copy (client cache)" meta-only
drop_caches
verify_tree tree "copy after drop_caches"

# ---------------------------------------------------------------- 2. big file
head -c 32M /dev/urandom > "$L/big"
want=$(sha "$L/big")
t=$SECONDS
dd if="$L/big" of=big.bin bs=1M conv=fsync status=none
pass "dd 32 MiB buffered + fsync in $((SECONDS - t))s"
t=$SECONDS
dd if="$L/big" of=big-direct.bin bs=1M oflag=direct status=none
pass "dd 32 MiB oflag=direct in $((SECONDS - t))s"
drop_caches
check_eq "32 MiB buffered file sha256 after drop_caches" "$want" "$(sha big.bin)"
check_eq "32 MiB O_DIRECT file sha256 after drop_caches" "$want" "$(sha big-direct.bin)"
check_eq "32 MiB file read with iflag=direct" "$want" \
    "$(dd if=big.bin bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)"
check_eq "size of big.bin" 33554432 "$(stat -c %s big.bin)"
# overwrite 1 MiB in the middle (not truncating) and 1 byte at an odd offset
head -c 1M /dev/urandom > "$L/patch"
dd if="$L/patch" of="$L/big" bs=1M seek=7 conv=notrunc status=none
dd if="$L/patch" of=big.bin bs=1M seek=7 conv=notrunc,fsync status=none
printf 'Z' | dd of="$L/big" bs=1 seek=12345677 conv=notrunc status=none
printf 'Z' | dd of=big.bin bs=1 seek=12345677 conv=notrunc,fsync status=none
drop_caches
check_eq "in-place overwrites at offsets 7 MiB and 12345677" "$(sha "$L/big")" "$(sha big.bin)"
rm -f big-direct.bin
check "rm of a 32 MiB file" test ! -e big-direct.bin

# ---------------------------------------------------------------- 3. compile
mkdir cc
cat > cc/util.h <<'EOF'
#ifndef UTIL_H
#define UTIL_H
unsigned long fnv1a(const unsigned char *p, unsigned long n);
int errno_checks(const char *dir);
#endif
EOF
cat > cc/util.c <<'EOF'
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
unsigned long fnv1a(const unsigned char *p, unsigned long n) {
    unsigned long h = 1469598103934665603UL;
    for (unsigned long i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211UL; }
    return h;
}
static int expect(const char *what, int rc, int want_errno) {
    if (rc != -1 || errno != want_errno) {
        printf("errno check %s: rc=%d errno=%s, want %s\n", what, rc,
               strerror(errno), strerror(want_errno));
        return 1;
    }
    return 0;
}
/* errno values the client must get from the server, checked exactly */
int errno_checks(const char *dir) {
    char a[512], b[512], c[512];
    int bad = 0;
    snprintf(a, sizeof a, "%s/excl", dir);
    snprintf(b, sizeof b, "%s/sub", dir);
    snprintf(c, sizeof c, "%s/sub/f", dir);
    int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) { perror("create excl"); return 1; }
    close(fd);
    bad |= expect("O_EXCL on existing file", open(a, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    bad |= expect("mkdir over file", mkdir(a, 0755), EEXIST);
    if (mkdir(b, 0755) != 0) { perror("mkdir sub"); return 1; }
    fd = open(c, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) { perror("create sub/f"); return 1; }
    close(fd);
    bad |= expect("rmdir non-empty", rmdir(b), ENOTEMPTY);
    bad |= expect("open missing", open("/nonexistent-e2e/x", O_RDONLY), ENOENT);
    snprintf(c, sizeof c, "%s/missing", dir);
    bad |= expect("unlink missing", unlink(c), ENOENT);
    snprintf(c, sizeof c, "%s/excl/x", dir);
    bad |= expect("path through a file", open(c, O_RDONLY), ENOTDIR);
    return bad;
}
EOF
cat > cc/main.c <<'EOF'
#include "util.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* writes 1 MiB with pwrite at scattered offsets, fsyncs, reads it back */
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    static unsigned char buf[1 << 20], back[1 << 20];
    for (unsigned i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + i / 4096);
    int fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 1; }
    for (long off = (long)sizeof buf - 65536; off >= 0; off -= 65536)   /* backwards */
        if (pwrite(fd, buf + off, 65536, off) != 65536) { perror("pwrite"); return 1; }
    if (fsync(fd) != 0) { perror("fsync"); return 1; }
    if (pread(fd, back, sizeof back, 0) != (ssize_t)sizeof back) { perror("pread"); return 1; }
    close(fd);
    if (fnv1a(buf, sizeof buf) != fnv1a(back, sizeof back)) { puts("read-back mismatch"); return 1; }
    if (errno_checks(argv[2]) != 0) return 1;
    printf("hello from nfs fnv1a=%016lx\n", fnv1a(back, sizeof back));
    return 0;
}
EOF
t=$SECONDS
check "gcc -c util.c on the mount" gcc -O1 -Wall -Werror -c cc/util.c -o cc/util.o
check "gcc -c main.c on the mount" gcc -O1 -Wall -Werror -c cc/main.c -o cc/main.o
check "link cc/prog on the mount" gcc cc/main.o cc/util.o -o cc/prog
check "cc/prog is executable" test -x cc/prog
mkdir cc/errno
out=$(./cc/prog cc/pdata cc/errno)
pass "program built on the mount ran from it in $((SECONDS - t))s: $out"
# reference: the same sources built and run on the guest's local disk
mkdir "$L/errno"
gcc -O1 -Wall -Werror cc/main.c cc/util.c -o "$L/prog"
check_eq "program output equals a local-disk run" "$("$L/prog" "$L/pdata" "$L/errno")" "$out"
drop_caches
check "program data file equals the local-disk run's" cmp cc/pdata "$L/pdata"
check "relinking the object files after drop_caches gives the same binary" \
    bash -c 'gcc cc/main.o cc/util.o -o cc/prog2 && cmp cc/prog cc/prog2'
check_eq "rerun of the binary after drop_caches" "$out" "$(mkdir cc/errno2 && ./cc/prog2 cc/pdata2 cc/errno2)"

# ---------------------------------------------------------------- 4. git
t=$SECONDS
mkdir repo
cp -a cc/*.c cc/*.h repo/
mkdir repo/headers
for d in "${GIT_DIRS[@]}"; do cp -a "$d" repo/headers/; done
(
    cd repo
    git init -q -b main .
    git config user.email e2e@example.invalid
    git config user.name e2e
    git add -A
    git commit -q -m "initial: sources and kernel headers"
    echo "// second" >> main.c
    git mv util.c util2.c
    git rm -q -r --cached headers/netfilter >/dev/null
    rm -rf headers/netfilter
    git commit -q -a -m "second"
)
pass "git init/add/commit/mv/rm on the mount ($(git -C repo ls-files | wc -l) files)"
check "git fsck --full" git -C repo fsck --full --no-progress
check_eq "git log has 2 commits" 2 "$(git -C repo rev-list --count HEAD)"
check_eq "git status clean" "" "$(git -C repo status --porcelain)"
check "git gc (packs, renames, deletes)" git -C repo gc -q
drop_caches
check "git fsck --full after gc + drop_caches" git -C repo fsck --full --no-progress
check "git clone on the mount + checkout matches" bash -c \
    'git clone -q repo repo2 && diff -r -x .git repo repo2'
pass "git section took $((SECONDS - t))s"

# ---------------------------------------------------------------- 5. namespace
mv tree tree-renamed
check "mv dir1 dir2: old name gone" test ! -e tree
check "mv dir1 dir2: new name is a directory" test -d "tree-renamed/$FIRST"
drop_caches
check_eq "renamed tree: sha256 list of $FIRST unchanged" "$(cat "$L/sums.$FIRST")" \
    "$(tree_sums "tree-renamed/$FIRST")"
mkdir -p ns/a/b/c ns/x
echo one > ns/a/b/c/f1
mv ns/a/b/c/f1 ns/x/f1-moved
check_eq "cross-directory file rename" one "$(cat ns/x/f1-moved)"
echo new > ns/x/replacement
echo old > ns/x/victim
mv -f ns/x/replacement ns/x/victim
check_eq "rename over an existing file replaces it" new "$(cat ns/x/victim)"
mv ns/a ns/x/a-moved
check "cross-directory dir rename keeps the subtree" test -d ns/x/a-moved/b/c
# hard links
echo "hard link data" > ns/h1
ln ns/h1 ns/h2
check_eq "hard link: link count 2" 2 "$(stat -c %h ns/h1)"
check_eq "hard link: same inode" "$(stat -c %i ns/h1)" "$(stat -c %i ns/h2)"
echo "appended via h2" >> ns/h2
drop_caches
check_eq "hard link: write via one name, read via the other" \
    "$(printf 'hard link data\nappended via h2')" "$(cat ns/h1)"
rm ns/h1
check_eq "hard link: survivor keeps data after rm of the other" "hard link data" "$(head -1 ns/h2)"
check_eq "hard link: link count back to 1" 1 "$(stat -c %h ns/h2)"
# symlinks
ln -s ../victim ns/x/a-moved/link-rel
ln -s "$W/ns/x" ns/link-dir
ln -s does-not-exist ns/dangling
drop_caches
check_eq "symlink: readlink" ../victim "$(readlink ns/x/a-moved/link-rel)"
check_eq "symlink: read through relative link" new "$(cat ns/x/a-moved/link-rel)"
check "symlink: directory traversal through absolute link" test -f ns/link-dir/f1-moved
check "symlink: dangling link is a link but does not resolve" bash -c '[ -L ns/dangling ] && [ ! -e ns/dangling ]'
check_eq "symlink: lstat type" "symbolic link" "$(stat -c %F ns/dangling)"
# chmod / chown
echo secret > ns/mode
chmod 0640 ns/mode
chmod 4755 ns/x
chown $NOBODY_UID:$NOBODY_UID ns/x/victim
drop_caches
check_eq "chmod 0640 on a file" 640 "$(stat -c %a ns/mode)"
check_eq "chmod 4755 on a directory" 4755 "$(stat -c %a ns/x)"
check_eq "chown to $NOBODY_UID:$NOBODY_UID" "$NOBODY_UID:$NOBODY_UID" "$(stat -c %u:%g ns/x/victim)"
chmod 0755 ns/x
# truncate
head -c 100000 /dev/urandom > "$L/tr"
cp "$L/tr" ns/tr
truncate -s 1000 ns/tr
truncate -s 1000 "$L/tr"
drop_caches
check_eq "truncate shrink: size" 1000 "$(stat -c %s ns/tr)"
check_eq "truncate shrink: content" "$(sha "$L/tr")" "$(sha ns/tr)"
truncate -s 3000000 ns/tr
truncate -s 3000000 "$L/tr"
drop_caches
check_eq "truncate extend: size" 3000000 "$(stat -c %s ns/tr)"
check_eq "truncate extend: hole reads as zeros" "$(sha "$L/tr")" "$(sha ns/tr)"
: > ns/tr
check_eq "truncate to 0 via O_TRUNC" 0 "$(stat -c %s ns/tr)"
# timestamps
touch -d '2001-02-03 04:05:06.123456789 UTC' ns/mode
touch -a -d '1999-12-31 23:59:59 UTC' ns/mode
drop_caches
check_eq "touch -d sets mtime (s.ns)" "981173106.123456789" "$(stat -c %.9Y ns/mode)"
check_eq "touch -a -d sets atime" 946684799 "$(stat -c %X ns/mode)"
before=$(stat -c %Y ns/x)
sleep 1.1
touch ns/x/new-entry
drop_caches
after=$(stat -c %Y ns/x)
check "creating an entry advances the directory mtime ($before -> $after)" test "$after" -gt "$before"
# a directory big enough to need several READDIR(PLUS) replies
mkdir ns/many
for i in $(seq 1 400); do : > "ns/many/file-with-a-rather-long-name-to-fill-readdir-replies-$i"; done
drop_caches
check_eq "readdir of 400 entries" 400 "$(ls ns/many | wc -l)"
check_eq "readdir names are unique and complete" \
    "$(seq 1 400 | sort)" "$(ls ns/many | sed 's/.*-//' | sort)"
rm -rf ns/many
check "rm -rf of a 400-entry directory" test ! -e ns/many

# ---------------------------------------------------------------- 6. errors
mkdir -p err/nonempty
echo x > err/nonempty/f
echo "keep me" > err/existing
expect_err "ENOENT: cat of a missing file" "No such file or directory" cat err/missing
expect_err "ENOENT: ls of a missing directory" "No such file or directory" ls err/missing-dir/
expect_err "EEXIST: mkdir of an existing dir" "File exists" mkdir err/nonempty
expect_err "EEXIST: hard link onto an existing name" "File exists" ln err/existing err/nonempty/f
expect_err "EEXIST: noclobber write to an existing file" "cannot overwrite existing file" \
    bash -c 'set -o noclobber; echo overwritten > err/existing'
check_eq "noclobber left the file alone" "keep me" "$(cat err/existing)"
expect_err "ENOTEMPTY: rmdir of a non-empty dir" "Directory not empty" rmdir err/nonempty
expect_err "ENOTDIR: path through a regular file" "Not a directory" ls err/existing/x
expect_err "ENAMETOOLONG: 300-character name" "File name too long" \
    touch "err/$(printf 'n%.0s' $(seq 1 300))"
echo "root only" > err/secret
chmod 0600 err/secret
mkdir err/rootdir
chmod 0755 err/rootdir
echo "world readable" > err/public
mkdir err/userdir
chown $NOBODY_UID:$NOBODY_UID err/userdir
drop_caches
check_eq "uid $NOBODY_UID can read a 0644 file (control)" "world readable" "$(as_user cat err/public)"
check "uid $NOBODY_UID can create in its own dir (control)" as_user bash -c 'echo mine > err/userdir/f'
check_eq "file created by uid $NOBODY_UID is owned by it" "$NOBODY_UID:$NOBODY_UID" "$(stat -c %u:%g err/userdir/f)"
expect_err "EACCES: uid $NOBODY_UID reads a root 0600 file" "Permission denied" as_user cat err/secret
expect_err "EACCES: uid $NOBODY_UID creates in a root 0755 dir" "Permission denied" \
    as_user bash -c 'echo x > err/rootdir/f'
expect_err "EACCES: uid $NOBODY_UID removes from a root 0755 dir" "Permission denied" \
    as_user rm -f err/nonempty/f
check "denied create left no file behind" test ! -e err/rootdir/f


# ---------------------------------------------------------------- 6b. locks
# fcntl byte-range locks and flock(1) between processes on this client (NLM
# to the server unless the mount has nolock).  Holders run in the background
# and keep their lock until their fifo's writer (fd 7 or 8) is closed; other
# background processes must not inherit that writer (7>&- / 8>&-).
if [ "$(awk -v m="$MNT" '$2 == m {print $3}' /proc/mounts)" = nfs4 ]; then
    echo "== locks: skipped on NFSv4 (NFSv4 LOCK is not implemented yet)"
else
cat > "$L/lockprobe.c" <<'CEOF'
/* lockprobe MODE FILE START LEN [r|w]
 *   try:  F_SETLK; exit 0 when granted, 1 on conflict
 *   wait: F_SETLKW; prints "granted"
 *   hold: F_SETLKW, prints "locked", keeps it until EOF on stdin
 *   test: F_GETLK; prints "unlocked" or "locked r|w START LEN"  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage\n"); return 2; }
    int w = argc < 6 || argv[5][0] == 'w';
    int fd = open(argv[2], w ? O_RDWR | O_CREAT : O_RDONLY, 0644);
    if (fd < 0) { perror("open"); return 2; }
    struct flock fl = {0};
    fl.l_type = w ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = atoll(argv[3]);
    fl.l_len = atoll(argv[4]);
    if (!strcmp(argv[1], "try")) {
        if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
        if (errno == EAGAIN || errno == EACCES) return 1;
        perror("F_SETLK"); return 2;
    }
    if (!strcmp(argv[1], "test")) {
        if (fcntl(fd, F_GETLK, &fl) != 0) { perror("F_GETLK"); return 2; }
        if (fl.l_type == F_UNLCK) printf("unlocked\n");
        else printf("locked %c %lld %lld\n", fl.l_type == F_WRLCK ? 'w' : 'r',
                    (long long)fl.l_start, (long long)fl.l_len);
        return 0;
    }
    if (fcntl(fd, F_SETLKW, &fl) != 0) { perror("F_SETLKW"); return 2; }
    if (!strcmp(argv[1], "wait")) { printf("granted\n"); return 0; }
    printf("locked\n"); fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
CEOF
gcc -O1 -Wall -o "$L/lockprobe" "$L/lockprobe.c"
LP="$L/lockprobe"
mkdir locks
# wait_for FILE CONTENT: until FILE (local) contains CONTENT, at most 60 s
wait_for() { local i; for i in $(seq 1 600); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
rm -f "$L/fifo1" "$L/fifo2"; mkfifo "$L/fifo1" "$L/fifo2"
"$LP" hold locks/f 0 100 w < "$L/fifo1" > "$L/hold1" &
HOLD1=$!
exec 7> "$L/fifo1"
check "fcntl: write lock on bytes 0-99 granted" wait_for "$L/hold1" locked
rc=0; "$LP" try locks/f 50 100 w || rc=$?
check_eq "fcntl: overlapping write lock from another process is refused" 1 "$rc"
rc=0; "$LP" try locks/f 50 100 r || rc=$?
check_eq "fcntl: overlapping read lock from another process is refused" 1 "$rc"
check "fcntl: disjoint range 100-199 is granted" "$LP" try locks/f 100 100 w
check_eq "fcntl: F_GETLK reports the holder's write lock" "locked w 0 100" "$("$LP" test locks/f 10 5 w)"
check_eq "fcntl: F_GETLK past the range sees no lock" "unlocked" "$("$LP" test locks/f 300 10 w)"
t=$SECONDS
"$LP" wait locks/f 0 10 w > "$L/waiter1" 7>&- &
WAIT1=$!
sleep 2
check "fcntl: blocked F_SETLKW waiter still waits while the lock is held" kill -0 "$WAIT1"
exec 7>&-
wait "$HOLD1"
check "fcntl: waiter wakes when the holder releases" wait_for "$L/waiter1" granted
wait "$WAIT1"
pass "fcntl: waiter woke $((SECONDS - t))s after it queued (2 s held)"
# shared (read) locks
"$LP" hold locks/f 0 0 r < "$L/fifo1" > "$L/hold1" &
HOLD1=$!
exec 7> "$L/fifo1"
check "fcntl: read lock on the whole file granted" wait_for "$L/hold1" locked
check "fcntl: a second read lock from another process is granted" "$LP" try locks/f 0 0 r
rc=0; "$LP" try locks/f 4096 1 w || rc=$?
check_eq "fcntl: a write lock inside the read-locked file is refused" 1 "$rc"
exec 7>&-
wait "$HOLD1"
check "fcntl: write lock granted after the readers left" "$LP" try locks/f 0 0 w
# flock(1)
: > locks/g
flock -x locks/g -c "echo held > $L/hold2; cat > /dev/null" < "$L/fifo2" &
HOLD2=$!
exec 8> "$L/fifo2"
check "flock: exclusive lock taken" wait_for "$L/hold2" held
rc=0; flock -n locks/g true || rc=$?
check_eq "flock -n: conflicting lock refused at once" 1 "$rc"
t=$SECONDS; rc=0; flock -w 2 locks/g true || rc=$?
check_eq "flock -w 2: gives up after the timeout" 1 "$rc"
flock -x locks/g -c "echo got > $L/waiter2" 8>&- &
WAIT2=$!
sleep 2
check "flock: blocked waiter still waits while the lock is held" kill -0 "$WAIT2"
t=$SECONDS
exec 8>&-
wait "$HOLD2"
check "flock: waiter wakes when the holder releases" wait_for "$L/waiter2" got
wait "$WAIT2"
pass "flock: waiter woke $((SECONDS - t))s after the release"
check "flock -n: free again after the waiter finished" flock -n locks/g true
fi

# ---------------------------------------------------------------- 7. restart
if [ "$RESTART_MODE" = restart ]; then
    [ -n "$SERVER_IP" ] || fail "restart step: no server IP (pass it as \$2 or set LNC_SERVER_IP)"
    mkdir pre
    head -c 4M /dev/urandom > "$L/fsynced"
    dd if="$L/fsynced" of=pre/fsynced.bin bs=1M conv=fsync status=none
    head -c 2M /dev/urandom > "$L/unstable"
    exec 3< pre/fsynced.bin
    exec 4> pre/unstable.bin
    dd if="$L/unstable" bs=1M status=none >&4     # written, not fsync'ed, fd kept open
    find tree-renamed pre ns -printf '%i %p\n' | sort > "$L/inodes.before"
    # a lock held across the crash: the client must reclaim it in the grace period
    "$LP" hold locks/kept 0 0 w < "$L/fifo1" > "$L/hold3" 3<&- 4>&- &
    HOLD3=$!
    exec 7> "$L/fifo1"
    check "fcntl: whole-file write lock held before the restart" wait_for "$L/hold3" locked
    t=$SECONDS
    exec 5<>"/dev/tcp/$SERVER_IP/$CONTROL_PORT"
    echo restart >&5
    reply=""
    read -r -t 180 reply <&5 || true
    exec 5<&-
    check_eq "supervisor restarted the server (SIGKILL + start) in $((SECONDS - t))s" ok "$reply"
    t=$SECONDS
    exec 4>&-     # close: the client flushes + COMMITs the unstable data now
    drop_caches
    check_eq "open fd reads the same content after the restart" "$(sha "$L/fsynced")" \
        "$(sha256sum <&3 | cut -d' ' -f1)"
    pass "first I/O after the restart completed in $((SECONDS - t))s"
    exec 3<&-
    check_eq "file written + fsync'ed before the restart is intact" "$(sha "$L/fsynced")" "$(sha pre/fsynced.bin)"
    check_eq "file written unstable before the restart, closed after it, is intact" \
        "$(sha "$L/unstable")" "$(sha pre/unstable.bin)"
    find tree-renamed pre ns -printf '%i %p\n' | sort > "$L/inodes.after"
    if ! cmp -s "$L/inodes.before" "$L/inodes.after"; then
        diff "$L/inodes.before" "$L/inodes.after" | head -20 || true
        fail "inode numbers changed across the restart"
    fi
    pass "inode numbers of $(wc -l < "$L/inodes.after") entries unchanged after the restart"
    check "ls -lR of the trees after the restart" bash -c 'ls -lR tree-renamed ns > /dev/null'
    check_eq "whole $FIRST tree re-read after the restart: sha256 list" "$(cat "$L/sums.$FIRST")" \
        "$(tree_sums "tree-renamed/$FIRST")"
    mkdir post
    for i in 1 2 3 4 5; do head -c $((i * 300000)) /dev/urandom > "$L/post$i"; cp "$L/post$i" post/; done
    mv post/post5 post/post5-renamed
    drop_caches
    for i in 1 2 3 4; do
        check_eq "new file post$i written after the restart" "$(sha "$L/post$i")" "$(sha post/post$i)"
    done
    check_eq "new file renamed after the restart" "$(sha "$L/post5")" "$(sha post/post5-renamed)"
    check "git fsck --full after the restart" git -C repo fsck --full --no-progress
    # By now the grace period is over: locks not reclaimed are gone.
    rc=0; timeout 120 "$LP" try locks/kept 0 0 w || rc=$?
    check_eq "lock held across the restart was reclaimed and is still exclusive" 1 "$rc"
    exec 7>&-
    wait "$HOLD3"
    check "reclaimed lock released: another process gets it" timeout 120 "$LP" try locks/kept 0 0 w
else
    echo "== restart step skipped ($RESTART_MODE)"
fi

# ---------------------------------------------------------------- 8. cleanup
t=$SECONDS
rm -rf tree-renamed
check "rm -rf of the copied trees in $((SECONDS - t))s" test ! -e tree-renamed
rm -rf repo repo2 cc ns err pre post big.bin locks
drop_caches
check_eq "work directory is empty after rm -rf" "" "$(ls -A "$W")"
cd "$MNT"
rmdir "$W"
check "rmdir of the emptied work directory" test ! -e "$W"
echo "== total ${SECONDS}s"
summary
