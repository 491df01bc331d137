#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""vgl_read.py: an independent reader of vigil backups (format 1.x), written
from docs/BACKUP-FORMAT.md alone, as a check that the page says enough for a
third party.  Needs the `cryptography` package.

One object (its plaintext to standard output):
    vgl_read.py KEY < object.vgl > plaintext
A whole backup, the folder <prefix>/<job>/<id> of a local storage target:
    vgl_read.py KEY [--trust PUB]... --backup DIR        check everything
    vgl_read.py KEY [--trust PUB]... --backup DIR --file PATH > contents
The known-answer vectors:
    vgl_read.py --selftest DIR

KEY is --keyfile FILE, --passphrase-file FILE or --x25519-pem FILE.  --trust
PUB (base64 Ed25519 public key, repeatable) requires the manifest to be
signed by one of them (section 2.3).  --backup opens the manifest, checks
what binds the objects together (1.4), reads data.vgl whole (gzip, tar
size and sha256, the chunk table), the file index (inline or index.vgl) and
the counts; --file then reads one file through the chunk table alone
(section 7).  Exit status 0 on success; 1 with the error on stderr.
"""
import base64
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zlib

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"VIGIL\0BK"
KIND_DATA, KIND_MANIFEST, KIND_INDEX = 1, 2, 3


class FormatError(Exception):
    pass


def hkdf(ikm, salt, info, length):
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def key_id_hex(pub):
    """The key id of a public key (3.4), also the signer id (2.3)."""
    return hkdf(pub, None, b"vigil-v1 key id", 8).hex()


def parse_ext(ext):
    """The extension records of a header (2.1): {type: value}."""
    recs, off = {}, 0
    while off < len(ext):
        if len(ext) - off < 4:
            raise FormatError("corrupt header: extension record cut short")
        typ, n = struct.unpack_from("<HH", ext, off)
        if n > len(ext) - off - 4:
            raise FormatError("corrupt header: extension record of %d bytes "
                              "overruns the header" % n)
        if typ == 1 and (n != 96 or 1 in recs):
            raise FormatError("corrupt header: bad signature record")
        recs[typ] = ext[off + 4:off + 4 + n]
        off += 4 + n
    return recs


def parse_header(data):
    if len(data) < 16:
        raise FormatError("truncated: object ends inside the header")
    if data[:8] != MAGIC:
        raise FormatError("not a vigil backup object")
    if data[8] != 1:
        raise FormatError("unsupported format version %d.%d (this vigil reads "
                          "version 1)" % (data[8], data[9]))
    (hlen,) = struct.unpack_from("<H", data, 10)
    if hlen < 170 or hlen > 1024:
        raise FormatError("corrupt header: header length %d out of range" % hlen)
    if len(data) < hlen:
        raise FormatError("truncated: object ends inside the header")
    hdr = data[:hlen]
    if hashlib.sha256(hdr[:-32]).digest() != hdr[-32:]:
        raise FormatError("corrupt header: checksum mismatch")
    kind, mode, flags, csize = struct.unpack_from("<BBHI", hdr, 12)
    if flags != 0:
        raise FormatError("unsupported format features (header flags 0x%04x): "
                          "written by a newer vigil" % flags)
    (plen,) = struct.unpack_from("<H", hdr, 76)
    if plen != {1: 0, 2: 41, 3: 64}.get(mode) or 170 + plen > hlen:
        raise FormatError("corrupt header: wrap parameters of %d bytes do not "
                          "fit key-wrap mode %d" % (plen, mode))
    recs = parse_ext(hdr[138 + plen:hlen - 32])
    sig = recs.get(1)
    return {
        "hlen": hlen, "minor": data[9], "kind": kind, "mode": mode,
        "chunk_size": csize, "key_id": hdr[20:28], "salt": hdr[28:44],
        "backup_id": hdr[44:76].rstrip(b"\0").decode(),
        "params": hdr[78:78 + plen], "plen": plen,
        "wrap_nonce": hdr[78 + plen:90 + plen],
        "wrapped": hdr[90 + plen:138 + plen],   # ciphertext || tag
        "wrap_aad": hdr[:78 + plen], "hash": hdr[-32:],
        "signed_prefix": hdr[:138 + plen],
        "signer": sig[:32] if sig else None, "signature": sig[32:] if sig else None,
        "raw": hdr,
    }


def master_secret(h, key):
    """Return (M, key id) for the header h and key (kind, value)."""
    kind, value = key
    p = h["params"]
    if h["mode"] != kind:
        raise FormatError("wrong key: mode %d, key is %d" % (h["mode"], kind))
    if kind == 1:
        m = value
        kid = hkdf(m, None, b"vigil-v1 key id", 8)
    elif kind == 2:
        log2n, r, par = p[0], *struct.unpack_from("<II", p, 1)
        m = hashlib.scrypt(value, salt=p[9:41], n=1 << log2n, r=r, p=par,
                           maxmem=2 ** 31 - 1, dklen=32)
        kid = hkdf(m, None, b"vigil-v1 key id", 8)
    else:
        priv = value
        r_pub = priv.public_key().public_bytes_raw()
        eph = p[:32]
        shared = priv.exchange(X25519PublicKey.from_public_bytes(eph))
        m = hkdf(shared, p[32:64], b"vigil-v1 x25519" + eph + r_pub, 32)
        kid = hkdf(r_pub, None, b"vigil-v1 key id", 8)
    return m, kid


class Opened:
    """An object whose header was read and whose data key was unwrapped."""

    def __init__(self, header_bytes, key):
        h = parse_header(header_bytes)
        m, kid = master_secret(h, key)
        if kid != h["key_id"]:
            raise FormatError("wrong key: object was sealed for key id %s, this "
                              "key has id %s" % (h["key_id"].hex(), kid.hex()))
        kek = hkdf(m, None, b"vigil-v1 key wrap", 32)
        try:
            dk = AESGCM(kek).decrypt(h["wrap_nonce"], h["wrapped"], h["wrap_aad"])
        except InvalidTag:
            raise FormatError("wrong key: the data key does not unwrap")
        ck = hkdf(dk, h["salt"], b"vigil-v1 chunk key" + bytes([h["kind"]]), 32)
        self.h, self.gcm = h, AESGCM(ck)

    def open_chunk(self, i, sealed):
        """Chunk i (its whole sealed bytes): (plaintext, final)."""
        (w,) = struct.unpack_from("<I", sealed, 0)
        n, final = w & 0x7FFFFFFF, w >> 31
        if n > self.h["chunk_size"]:
            raise FormatError("chunk %d: length %d exceeds the chunk size %d "
                              "(corrupt)" % (i, n, self.h["chunk_size"]))
        if n == 0 and not final:
            raise FormatError("chunk %d: empty non-final chunk (corrupt)" % i)
        if len(sealed) != n + 20:
            raise FormatError("chunk %d: length mismatch (corrupt)" % i)
        nonce = b"\0\0\0\0" + struct.pack(">Q", i)
        aad = self.h["hash"] + struct.pack("<QB", i, final)
        try:
            return self.gcm.decrypt(nonce, sealed[4:], aad), final
        except InvalidTag:
            raise FormatError("chunk %d: authentication failed (corrupt, "
                              "reordered or tampered data)" % i)


def read_chunks(data, key):
    """Open a whole object in order (2.2): (header info, [plaintexts])."""
    o = Opened(data, key)
    h = o.h
    pos, i, out = h["hlen"], 0, []
    while True:
        if pos == len(data):
            if i == 0:
                raise FormatError("truncated: object has no chunks")
            raise FormatError("truncated: missing final chunk (object ends "
                              "after chunk %d)" % (i - 1))
        if pos + 4 > len(data):
            raise FormatError("truncated: object ends inside chunk %d" % i)
        (w,) = struct.unpack_from("<I", data, pos)
        n = w & 0x7FFFFFFF
        if n > h["chunk_size"]:
            raise FormatError("chunk %d: length %d exceeds the chunk size %d "
                              "(corrupt)" % (i, n, h["chunk_size"]))
        if pos + 20 + n > len(data):
            raise FormatError("truncated: object ends inside chunk %d" % i)
        pt, final = o.open_chunk(i, data[pos:pos + 20 + n])
        out.append(pt)
        pos += 20 + n
        i += 1
        if final:
            break
    if pos != len(data):
        raise FormatError("trailing data after final chunk %d" % (i - 1))
    return h, out


def read_object(data, key):
    h, chunks = read_chunks(data, key)
    return h, b"".join(chunks)


def check_signature(h, plaintext, trusted):
    """Section 2.3.  trusted: None, or a list of raw public keys."""
    if h["signer"] is not None:
        msg = b"vigil-v1 signature" + h["signed_prefix"] + \
            hashlib.sha256(plaintext).digest()
        try:
            Ed25519PublicKey.from_public_bytes(h["signer"]).verify(
                h["signature"], msg)
        except InvalidSignature:
            raise FormatError("signature does not verify (forged or tampered "
                              "manifest)")
    if not trusted or h["kind"] != KIND_MANIFEST:
        return
    if h["signer"] is None:
        raise FormatError("not signed, but trusted_signers requires a signature "
                          "(forged, or written by a host without a signing key)")
    if h["signer"] not in trusted:
        raise FormatError("signed by %s, which is not in trusted_signers"
                          % key_id_hex(h["signer"]))


def open_manifest(data, key, trusted):
    h, pt = read_object(data, key)
    if h["kind"] != KIND_MANIFEST:
        raise FormatError("wrong object kind: expected manifest")
    check_signature(h, pt, trusted)
    return h, pt


def inflate_member(buf, limit):
    """Exactly one gzip member (RFC 1952) of at most limit bytes inflated."""
    d = zlib.decompressobj(wbits=31)
    out = d.decompress(buf, limit + 1)
    if len(out) > limit or d.unconsumed_tail or not d.eof or d.unused_data:
        raise FormatError("not one gzip member")
    return out


def need(cond, msg):
    if not cond:
        raise FormatError(msg)


def read_backup(folder, key, trusted):
    """Read and check a whole backup (1.4, 5, 6); return (manifest, files, tar)."""
    job = os.path.basename(os.path.dirname(os.path.abspath(folder)))
    bid = os.path.basename(os.path.abspath(folder))
    with open(os.path.join(folder, "manifest.vgl"), "rb") as f:
        h, pt = open_manifest(f.read(), key, trusted)
    m = json.loads(pt)
    # 1.4, check 1: the manifest and its name.
    need(h["backup_id"] == bid, "manifest.vgl: sealed for backup %s, not %s"
         % (h["backup_id"], bid))
    need(m["job"] == job and m["backup_id"] == bid, "manifest: describes %s/%s, "
         "not %s/%s" % (m["job"], m["backup_id"], job, bid))
    need(m["format"] == 1 and m.get("level", 0) == 0, "manifest: unsupported "
         "format or level")
    # Check 2: data.vgl, whole and in order.
    with open(os.path.join(folder, "data.vgl"), "rb") as f:
        data = f.read()
    dh = data[:struct.unpack_from("<H", data, 10)[0]]
    need(dh == base64.b64decode(m["data"]["header"]),
         "data.vgl: its header differs from the manifest's copy")
    need(len(data) == m["data"]["size"], "data.vgl: size differs")
    dhdr, chunks = read_chunks(data, key)
    need(dhdr["backup_id"] == bid, "data.vgl: sealed for backup %s"
         % dhdr["backup_id"])
    need(dhdr["chunk_size"] == m["data"]["chunk_size"], "data.vgl: C differs")
    table = m["chunks"]
    need(len(table) == len(chunks) == m["data"]["chunks"], "chunk count differs")
    slice_size = m["compression"]["slice_size"]
    tar, off, toff = [], dhdr["hlen"], 0
    for i, (row, c) in enumerate(zip(table, chunks)):
        need(row["index"] == i and row["offset"] == off and
             row["plain_len"] == len(c) and row["sealed_len"] == len(c) + 20 and
             row["tar_offset"] == toff, "chunks[%d] does not match" % i)
        t = inflate_member(c, slice_size)
        need(len(t) == row["tar_len"], "member %d inflates to %d bytes, the chunk "
             "table says %d" % (i, len(t), row["tar_len"]))
        tar.append(t)
        off += len(c) + 20
        toff += len(t)
    tar = b"".join(tar)
    need(len(tar) == m["tar"]["size"], "tar size differs")
    need(hashlib.sha256(tar).hexdigest() == m["tar"]["sha256"],
         "tar stream sha256 differs from the manifest")
    # The gzip layer: the chunks' plaintexts are one valid .tar.gz.
    need(zlib.decompressobj(wbits=31).decompress(chunks[0])[:512] == tar[:512],
         "gzip")
    import gzip
    need(gzip.decompress(b"".join(chunks)) == tar, "not a .tar.gz")
    # Check 3: the file index.
    ix = m["index"]
    if ix["inline"]:
        files = m["files"]
    else:
        with open(os.path.join(folder, "index.vgl"), "rb") as f:
            raw = f.read()
        need(len(raw) == ix["size"], "index.vgl: size differs")
        ih, ichunks = read_chunks(raw, key)
        need(ih["kind"] == KIND_INDEX, "index.vgl: wrong kind")
        need(ih["backup_id"] == bid, "index.vgl: sealed for backup %s, not %s"
             % (ih["backup_id"], bid))
        if ix.get("encoding") == "gzip":
            js = b"".join(inflate_member(c, 1 << 20) for c in ichunks)
        else:
            need("encoding" not in ix, "manifest: index.encoding: \"%s\" is not "
                 "supported (this vigil reads \"gzip\")" % ix.get("encoding"))
            js = b"".join(ichunks)
        need(ix.get("json_size", len(js)) == len(js), "index: size differs")
        need(hashlib.sha256(js).hexdigest() == ix["sha256"], "index: sha256 "
             "differs from the manifest's (not the index of this backup)")
        idx = json.loads(js)
        need(idx["backup_id"] == bid, "index: not the index of backup %s" % bid)
        files = idx["files"]
        need(len(files) == ix["entries"], "index: entries differ")
    # The counts (6.1) against the index.
    kinds = {"file": "files", "dir": "dirs", "symlink": "symlinks",
             "hardlink": "hardlinks"}
    n = {k: 0 for k in ("files", "dirs", "symlinks", "hardlinks", "other")}
    for e in files:
        n[kinds.get(e["type"], "other")] += 1
    for k, v in n.items():
        need(m["counts"][k] == v, "manifest: counts.%s is %d, but the file index "
             "has %d such entries" % (k, m["counts"][k], v))
    # Each entry lies where the index says (6.2) and has the stored name.
    members = tarfile.open(fileobj=io.BytesIO(tar)).getmembers()
    need(len(members) == len(files), "file index: %d entries, the tar has %d"
         % (len(files), len(members)))
    for e, ti in zip(files, members):
        want = base64.b64decode(e["path_b64"]) if "path_b64" in e else \
            e["path"].encode()
        got = ti.name.rstrip("/").encode("utf-8", "surrogateescape")
        need(ti.offset == e["tar_offset"], "%s: tar offset differs" % e["path"])
        need(got == want, "%s: the tar header says %s" % (e["path"], ti.name))
        need(ti.mode & 0o7777 == e["mode"], "%s: mode differs" % e["path"])
    return h, m, files, table


def read_file(folder, key, trusted, path):
    """Section 7: one file through the chunk table, reading only its chunks."""
    h, m, files, table = read_backup(folder, key, trusted)
    e = [f for f in files if f["path"] == path.strip("/")]
    need(len(e) == 1 and e[0]["type"] == "file", "%s is not a file of the "
         "backup" % path)
    t, ln = e[0]["tar_offset"], e[0]["tar_len"]
    a = [c for c in table if c["tar_offset"] <= t < c["tar_offset"] + c["tar_len"]][0]
    b = [c for c in table if c["tar_offset"] <= t + ln - 1 <
         c["tar_offset"] + c["tar_len"]][0]
    hdr = base64.b64decode(m["data"]["header"])
    with open(os.path.join(folder, "data.vgl"), "rb") as f:
        f.seek(a["offset"])
        span = f.read(b["offset"] + b["sealed_len"] - a["offset"])
    o = Opened(hdr, key)
    out, pos = [], 0
    for c in table[a["index"]:b["index"] + 1]:
        pt, _ = o.open_chunk(c["index"], span[pos:pos + c["sealed_len"]])
        out.append(inflate_member(pt, m["compression"]["slice_size"]))
        pos += c["sealed_len"]
    entry = b"".join(out)[t - a["tar_offset"]:t - a["tar_offset"] + ln]
    tf = tarfile.open(fileobj=io.BytesIO(entry + b"\0" * 1024))
    ti = tf.next()
    need(ti.name == e[0]["path"] and ti.size == e[0]["size"], "tar entry differs")
    return tf.extractfile(ti).read()


VEC_PT = b"vigil backup format 1.0 known-answer object, three chunks of 32 bytes!"
VEC_MANIFEST = b'{"format":1,"job":"nightly","backup_id":"2026-11-22T030000Z-3f9a"}'
# RFC 8032 7.1 test 1: the signer of the signed manifest vectors; test 2.
VEC_SIGNER = bytes.fromhex(
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
VEC_OTHER = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    ).public_key().public_bytes_raw()


def expect_error(fn, msg):
    try:
        fn()
    except FormatError as e:
        assert msg in str(e), (msg, str(e))
    else:
        raise AssertionError("accepted: want %r" % msg)


def selftest(d):
    """Open the vectors listed in tests/vectors/README."""
    keys = {
        "keyfile": (1, bytes(range(32))),
        "passphrase": (2, b"correct horse battery staple"),
        "x25519": (3, X25519PrivateKey.from_private_bytes(bytes.fromhex(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))),
    }

    def vec(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()

    for name, key in keys.items():
        h, got = read_object(vec("object-%s.vgl" % name), key)
        assert got == VEC_PT, name
        assert h["backup_id"] == "2026-11-22T030000Z-3f9a" and h["minor"] == 0
        assert vec("header-%s.bin" % name) == vec("object-%s.vgl" % name)[:h["hlen"]]
    # A chunk read alone at its offset (chunk table style, 2.2).
    o = Opened(vec("header-keyfile.bin"), keys["keyfile"])
    assert o.open_chunk(1, vec("chunk-keyfile-1.bin")) == (VEC_PT[32:64], 0)
    h, got = open_manifest(vec("manifest-keyfile.vgl"), keys["keyfile"], None)
    assert h["kind"] == KIND_MANIFEST and got == VEC_MANIFEST, got
    assert h["signer"] is None
    expect_error(lambda: open_manifest(vec("manifest-keyfile.vgl"),
                                       keys["keyfile"], [VEC_SIGNER]),
                 "not signed, but trusted_signers requires a signature")
    # Signed manifests (1.1, 2.3).
    for name, hlen in (("keyfile", 270), ("x25519", 334)):
        raw = vec("manifest-%s-signed.vgl" % name)
        h, got = open_manifest(raw, keys[name], [VEC_SIGNER])
        assert got == VEC_MANIFEST and h["minor"] == 1 and h["hlen"] == hlen
        assert h["signer"] == VEC_SIGNER
        open_manifest(raw, keys[name], None)
        expect_error(lambda: open_manifest(raw, keys[name], [VEC_OTHER]),
                     "signed by %s, which is not in trusted_signers"
                     % key_id_hex(VEC_SIGNER))
        # The signature check itself, on the authenticated plaintext.
        expect_error(lambda: check_signature(h, got + b" ", None),
                     "signature does not verify")
    # Damage must be refused.
    good = vec("object-keyfile.vgl")
    for bad, msg in ((good[:-1], "truncated"), (good + b"\0", "trailing"),
                     (good[:200] + bytes([good[200] ^ 1]) + good[201:], "chunk 0")):
        expect_error(lambda: read_object(bad, keys["keyfile"]), msg)
    print("vgl_read.py: all vectors open")


def load_key(opt, path):
    raw = open(path, "rb").read()
    if opt == "--keyfile":
        return (1, raw if len(raw) == 32 else bytes.fromhex(raw.decode().strip()))
    if opt == "--passphrase-file":
        t = raw[:-1] if raw.endswith(b"\n") else raw
        return (2, t[:-1] if t.endswith(b"\r") and raw.endswith(b"\n") else t)
    if opt == "--x25519-pem":
        return (3, serialization.load_pem_private_key(raw, None))
    return None


def main(argv):
    if len(argv) == 3 and argv[1] == "--selftest":
        selftest(argv[2])
        return 0
    args = argv[1:]
    if len(args) < 2 or load_key(args[0], args[1]) is None:
        sys.stderr.write(__doc__)
        return 2
    key, args = load_key(args[0], args[1]), args[2:]
    trusted, backup, path = [], None, None
    while args:
        if args[0] == "--trust" and len(args) > 1:
            trusted.append(base64.b64decode(args[1]))
        elif args[0] == "--backup" and len(args) > 1:
            backup = args[1]
        elif args[0] == "--file" and len(args) > 1:
            path = args[1]
        else:
            sys.stderr.write(__doc__)
            return 2
        args = args[2:]
    try:
        if backup is None:
            _, pt = read_object(sys.stdin.buffer.read(), key)
            sys.stdout.buffer.write(pt)
        elif path is None:
            h, m, files, _ = read_backup(backup, key, trusted)
            print("%s/%s: intact, %d entries, %s" % (
                m["job"], m["backup_id"], len(files),
                "signed by %s" % key_id_hex(h["signer"]) if h["signer"]
                else "unsigned"))
        else:
            sys.stdout.buffer.write(read_file(backup, key, trusted, path))
    except FormatError as e:
        sys.stderr.write("vgl_read.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
