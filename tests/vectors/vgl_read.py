#!/usr/bin/env python3
"""vgl_read.py: an independent reader of vigil backup objects (format 1.x),
written from docs/BACKUP-FORMAT.md alone, as a check that the page says
enough for a third party.  Needs the `cryptography` package.

    vgl_read.py --keyfile K < object.vgl > plaintext
    vgl_read.py --passphrase-file P < object.vgl > plaintext
    vgl_read.py --x25519-pem PEM < object.vgl > plaintext
    vgl_read.py --selftest DIR      # open the known-answer vectors in DIR

Exit status 0 on success; 1 with the error on stderr.
"""
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"VIGIL\0BK"


class FormatError(Exception):
    pass


def hkdf(ikm, salt, info, length):
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def parse_header(data):
    if len(data) < 16:
        raise FormatError("truncated: object ends inside the header")
    if data[:8] != MAGIC:
        raise FormatError("not a vigil backup object")
    if data[8] != 1:
        raise FormatError("unsupported format version %d.%d" % (data[8], data[9]))
    (hlen,) = struct.unpack_from("<H", data, 10)
    if hlen < 170 or hlen > 1024:
        raise FormatError("corrupt header: length")
    if len(data) < hlen:
        raise FormatError("truncated: object ends inside the header")
    hdr = data[:hlen]
    if hashlib.sha256(hdr[:-32]).digest() != hdr[-32:]:
        raise FormatError("corrupt header: checksum mismatch")
    kind, mode, flags, csize = struct.unpack_from("<BBHI", hdr, 12)
    if flags != 0:
        raise FormatError("unsupported format features")
    (plen,) = struct.unpack_from("<H", hdr, 76)
    return {
        "hlen": hlen, "kind": kind, "mode": mode, "chunk_size": csize,
        "key_id": hdr[20:28], "salt": hdr[28:44],
        "backup_id": hdr[44:76].rstrip(b"\0").decode(),
        "params": hdr[78:78 + plen], "plen": plen,
        "wrap_nonce": hdr[78 + plen:90 + plen],
        "wrapped": hdr[90 + plen:138 + plen],   # ciphertext || tag
        "wrap_aad": hdr[:78 + plen], "hash": hdr[-32:],
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


def read_object(data, key):
    h = parse_header(data)
    m, kid = master_secret(h, key)
    if kid != h["key_id"]:
        raise FormatError("wrong key: key id")
    kek = hkdf(m, None, b"vigil-v1 key wrap", 32)
    try:
        dk = AESGCM(kek).decrypt(h["wrap_nonce"], h["wrapped"], h["wrap_aad"])
    except InvalidTag:
        raise FormatError("wrong key: the data key does not unwrap")
    ck = hkdf(dk, h["salt"], b"vigil-v1 chunk key" + bytes([h["kind"]]), 32)
    gcm = AESGCM(ck)
    pos, i, out = h["hlen"], 0, []
    while True:
        if pos == len(data):
            raise FormatError("truncated: missing final chunk" if i else
                              "truncated: object has no chunks")
        if pos + 4 > len(data):
            raise FormatError("truncated: object ends inside chunk %d" % i)
        (w,) = struct.unpack_from("<I", data, pos)
        n, final = w & 0x7FFFFFFF, w >> 31
        if n > h["chunk_size"] or (n == 0 and not final):
            raise FormatError("chunk %d: bad length" % i)
        if pos + 4 + n + 16 > len(data):
            raise FormatError("truncated: object ends inside chunk %d" % i)
        nonce = b"\0\0\0\0" + struct.pack(">Q", i)
        aad = h["hash"] + struct.pack("<QB", i, final)
        try:
            out.append(gcm.decrypt(nonce, data[pos + 4:pos + 20 + n], aad))
        except InvalidTag:
            raise FormatError("chunk %d: authentication failed" % i)
        pos += 20 + n
        i += 1
        if final:
            break
    if pos != len(data):
        raise FormatError("trailing data after final chunk %d" % (i - 1))
    return h, b"".join(out)


def selftest(d):
    """Open the vectors listed in tests/vectors/README."""
    pt = b"vigil backup format 1.0 known-answer object, three chunks of 32 bytes!"
    keys = {
        "keyfile": (1, bytes(range(32))),
        "passphrase": (2, b"correct horse battery staple"),
        "x25519": (3, X25519PrivateKey.from_private_bytes(bytes.fromhex(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))),
    }
    for name, key in keys.items():
        with open("%s/object-%s.vgl" % (d, name), "rb") as f:
            h, got = read_object(f.read(), key)
        assert got == pt, name
        assert h["backup_id"] == "2026-11-22T030000Z-3f9a"
        with open("%s/header-%s.bin" % (d, name), "rb") as f:
            assert f.read() == open("%s/object-%s.vgl" % (d, name), "rb").read()[:h["hlen"]]
    with open("%s/manifest-keyfile.vgl" % d, "rb") as f:
        h, got = read_object(f.read(), keys["keyfile"])
    assert h["kind"] == 2 and got.startswith(b'{"format":1'), got
    # Damage must be refused.
    with open("%s/object-keyfile.vgl" % d, "rb") as f:
        good = f.read()
    for bad, msg in ((good[:-1], "truncated"), (good + b"\0", "trailing"),
                     (good[:200] + bytes([good[200] ^ 1]) + good[201:], "chunk 0")):
        try:
            read_object(bad, keys["keyfile"])
        except FormatError as e:
            assert msg in str(e), (msg, e)
        else:
            raise AssertionError("accepted a damaged object")
    print("vgl_read.py: all vectors open")


def main(argv):
    if len(argv) == 3 and argv[1] == "--selftest":
        selftest(argv[2])
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    opt, path = argv[1], argv[2]
    raw = open(path, "rb").read()
    if opt == "--keyfile":
        k = raw if len(raw) == 32 else bytes.fromhex(raw.decode().strip())
        key = (1, k)
    elif opt == "--passphrase-file":
        t = raw[:-1] if raw.endswith(b"\n") else raw
        key = (2, t[:-1] if t.endswith(b"\r") and raw.endswith(b"\n") else t)
    elif opt == "--x25519-pem":
        key = (3, serialization.load_pem_private_key(raw, None))
    else:
        sys.stderr.write(__doc__)
        return 2
    try:
        _, pt = read_object(sys.stdin.buffer.read(), key)
    except FormatError as e:
        sys.stderr.write("vgl_read.py: %s\n" % e)
        return 1
    sys.stdout.buffer.write(pt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
