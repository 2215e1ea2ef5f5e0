#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).

Seeds are well-formed requests built here from RFC 5531 (RPC call header,
AUTH_SYS), RFC 1813 (NFSv3 and MOUNT v3 arguments) and RFC 4506 (XDR).
File handles are the placeholder 00 00 00 04 'N' 'F' 'H' k that
fuzz_program.cc swaps for its k-th real handle.  Deterministic: rerunning
gives the same files.  Usage: make_corpus.py [OUT_DIR]
"""
import hashlib
import os
import struct
import sys

NFS, MOUNT = 100003, 100005
FUZZ_ROOT = "/tmp/nasd-fuzz-program"


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def string(s):
    return opaque(s.encode() if isinstance(s, str) else s)


def fh(k):
    return u32(4) + b"NFH" + bytes([k])


def auth_sys(uid, gid, groups=(), machine="fuzz"):
    body = u32(1234) + string(machine) + u32(uid) + u32(gid) + u32(len(groups))
    body += b"".join(u32(g) for g in groups)
    return u32(1) + opaque(body)


AUTH_NONE = u32(0) + u32(0)


def call(xid, prog, vers, proc, args=b"", cred=None):
    cred = auth_sys(0, 0) if cred is None else cred
    return u32(xid) + u32(0) + u32(2) + u32(prog) + u32(vers) + u32(proc) + cred + AUTH_NONE + args


def sattr(mode=None, uid=None, gid=None, size=None, atime=0, mtime=0):
    out = b""
    for v in (mode, uid, gid):
        out += u32(0) if v is None else u32(1) + u32(v)
    out += u32(0) if size is None else u32(1) + u64(size)
    for how in (atime, mtime):
        out += u32(how) + (u32(1700000000) + u32(5) if how == 2 else b"")
    return out


def dirop(k, name):
    return fh(k) + string(name)


# (procedure, args) of NFSv3; handle 0 = export root, 1 = f, 2 = d, 3 = d/g,
# 4 = s (symlink out of the export), 5 = ro root, 6 = ro/r.
NFS3 = [
    (1, fh(0)), (1, fh(4)),
    (2, fh(1) + sattr(mode=0o600) + u32(0)),
    (2, fh(1) + sattr(size=3, mtime=2) + u32(0)),
    (2, fh(6) + sattr(mode=0o777) + u32(0)),
    (3, dirop(0, "f")), (3, dirop(0, "..")), (3, dirop(0, "s")), (3, dirop(2, "../..")),
    (3, dirop(0, "a/b")), (3, dirop(0, "x" * 300)),
    (4, fh(1) + u32(0x3F)),
    (5, fh(4)),
    (6, fh(1) + u64(0) + u32(4096)), (6, fh(4) + u64(0) + u32(4096)),
    (6, fh(1) + u64(1 << 62) + u32(0xFFFFFFFF)),
    (7, fh(1) + u64(0) + u32(5) + u32(2) + opaque(b"hello")),
    (7, fh(1) + u64(100) + u32(9) + u32(0) + opaque(b"short")),
    (7, fh(6) + u64(0) + u32(2) + u32(1) + opaque(b"ro")),
    (8, dirop(0, "new") + u32(0) + sattr(mode=0o644)),
    (8, dirop(2, "excl") + u32(2) + b"verifier"),
    (9, dirop(0, "newdir") + sattr(mode=0o755)),
    (10, dirop(0, "ln") + sattr() + string("../outside/secret")),
    (11, dirop(0, "fifo") + u32(7) + sattr(mode=0o644)),
    (11, dirop(0, "chr") + u32(4) + sattr() + u32(1) + u32(3)),
    (12, dirop(2, "g")), (13, dirop(0, "d")),
    (14, dirop(0, "f") + dirop(2, "moved")), (14, dirop(0, "f") + dirop(5, "across")),
    (15, fh(1) + dirop(2, "hard")), (15, fh(6) + dirop(0, "cross")),
    (16, fh(0) + u64(0) + b"\0" * 8 + u32(4096)),
    (17, fh(0) + u64(0) + b"\0" * 8 + u32(1024) + u32(8192)),
    (18, fh(0)), (19, fh(0)), (20, fh(0)),
    (21, fh(1) + u64(0) + u32(0)),
]

MOUNT3 = [
    (0, b""), (1, string(FUZZ_ROOT + "/exp")), (1, string(FUZZ_ROOT + "/ro")),
    (1, string(FUZZ_ROOT + "/outside")), (1, string(FUZZ_ROOT + "/exp/../outside")),
    (2, b""), (3, string(FUZZ_ROOT + "/exp")), (4, b""), (5, b""),
]

# fuzz_xdr_args selector of each NFSv3 procedure (see fuzz_xdr_args.cc).
XDR_SELECTOR = {1: 0, 2: 1, 3: 2, 4: 3, 5: 0, 6: 4, 7: 5, 8: 6, 9: 7, 10: 8, 11: 9, 12: 10,
                13: 10, 14: 11, 15: 12, 16: 13, 17: 14, 18: 0, 19: 0, 20: 0, 21: 15}


def real_fh(k):
    return opaque(bytes([k]) * 28)


def record(payload, fragments=1):
    """Record-marks `payload` in `fragments` pieces (RFC 5531 §11)."""
    step = max(1, len(payload) // fragments)
    out, pos = b"", 0
    for i in range(fragments):
        piece = payload[pos:] if i == fragments - 1 else payload[pos:pos + step]
        pos += len(piece)
        out += u32(len(piece) | (0x80000000 if i == fragments - 1 else 0)) + piece
    return out


def save(out_dir, target, data):
    d = os.path.join(out_dir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def compound(xid, minor, ops, tag=b"fuzz"):
    """An NFSv4 COMPOUND call (RFC 8881 §16.2): tag, minorversion, ops."""
    body = opaque(tag) + u32(minor) + u32(len(ops)) + b"".join(ops)
    return call(xid, NFS, 4, 1, body)


def nfs4_compounds(xid):
    """Seeds for the NFSv4 path: each minor version, the session and client
    set-up operations, file operations on placeholder handles, locks."""
    PUTROOTFH, PUTFH, GETFH, GETATTR, LOOKUP, READ, ACCESS = u32(24), u32(22), u32(10), u32(9), u32(15), u32(25), u32(3)
    bitmap = u32(2) + u32(0x0010011a) + u32(0x00b0a23a)  # type, change, size, fileid, mode, owner, times...
    zero_sid = u32(0) + b"\0" * 12
    owner = u64(1) + opaque(b"fuzz-owner")
    out = [
        compound(xid, 0, []),
        compound(xid + 1, 1, [PUTROOTFH, GETATTR + bitmap]),
        compound(xid + 2, 2, [PUTROOTFH, LOOKUP + string("tmp"), GETFH]),
        compound(xid + 3, 0, [PUTFH + fh(1), READ + zero_sid + u64(0) + u32(4096)]),
        compound(xid + 4, 1, [PUTFH + fh(2), ACCESS + u32(0x3f), GETATTR + bitmap]),
        # 4.0 SETCLIENTID: verifier, client id, callback (prog, netid, addr), ident
        compound(xid + 5, 0, [u32(35) + b"12345678" + opaque(b"fuzz client") + u32(0x40000000)
                              + string("tcp") + string("127.0.0.1.3.4") + u32(1)]),
        # 4.1 EXCHANGE_ID: verifier, owner id, flags, SP4_NONE, no impl id
        compound(xid + 6, 1, [u32(42) + b"12345678" + opaque(b"fuzz client") + u32(0) + u32(0)
                              + u32(0)]),
        # 4.0 OPEN (seqid, access, deny, owner, OPEN4_NOCREATE, CLAIM_NULL name)
        compound(xid + 7, 0, [PUTFH + fh(0), u32(18) + u32(1) + u32(1) + u32(0) + owner + u32(0)
                              + u32(0) + string("f"), GETFH]),
        # LOCK (WRITE_LT, no reclaim, 0..100, open_to_lock_owner4) and LOCKT
        compound(xid + 8, 0, [PUTFH + fh(1), u32(12) + u32(2) + u32(0) + u64(0) + u64(100) + u32(1)
                              + u32(1) + zero_sid + u32(0) + owner]),
        compound(xid + 9, 0, [PUTFH + fh(1), u32(13) + u32(1) + u64(0) + u64(100) + owner]),
        # 4.2: SEEK (SEEK_DATA), GETXATTR
        compound(xid + 10, 2, [PUTFH + fh(1), u32(69) + zero_sid + u64(0) + u32(0)]),
        compound(xid + 11, 2, [PUTFH + fh(1), u32(72) + string("user.x")]),
    ]
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    xid = 1
    calls = []
    for proc, args in NFS3:
        calls.append(call(xid, NFS, 3, proc, args))
        xid += 1
    calls.append(call(xid, NFS, 3, 1, fh(1), cred=auth_sys(1000, 1000, groups=range(100, 116))))
    calls.append(call(xid + 1, NFS, 3, 7, NFS3[16][1], cred=auth_sys(65534, 65534)))
    calls.append(call(xid + 2, NFS, 3, 0, cred=AUTH_NONE))
    for proc, args in MOUNT3:
        calls.append(call(xid + 3 + proc, MOUNT, 3, proc, args))
    calls += nfs4_compounds(xid + 20)
    for c in calls:
        save(out_dir, "fuzz_program", c)

    for c in calls[::3]:
        save(out_dir, "fuzz_rpc_record", record(c))
    save(out_dir, "fuzz_rpc_record", record(calls[0], 3) + record(calls[1]))
    save(out_dir, "fuzz_rpc_record", record(call(9, NFS, 3, 0, cred=auth_sys(1, 1, range(16)))))
    bad_vers = bytearray(call(10, NFS, 3, 0))
    bad_vers[8:12] = u32(3)
    save(out_dir, "fuzz_rpc_record", record(bytes(bad_vers)))
    save(out_dir, "fuzz_rpc_record", record(u32(11) + u32(0) + u32(2) + u32(NFS) + u32(3) + u32(0)
                                            + u32(6) + opaque(b"kerberos") + AUTH_NONE))

    for proc, args in NFS3:
        a = args
        for k in range(7):  # real-looking 28-byte handles instead of placeholders
            a = a.replace(fh(k), real_fh(k))
        save(out_dir, "fuzz_xdr_args", bytes([XDR_SELECTOR[proc]]) + a)
    save(out_dir, "fuzz_xdr_args", bytes([16]) + string(FUZZ_ROOT + "/exp"))


if __name__ == "__main__":
    main()
