#!/usr/bin/python3
"""Writes data/sha256_vectors.txt: "LENGTH HEX" lines, hashlib's SHA-256 of the message
bytes((i * 7 + 3) & 0xFF for i in range(LENGTH)), for lengths around every block boundary and a
few long ones. Run: /usr/bin/python3 tests/hub/gen/gen_sha256_vectors.py"""
import hashlib
import os

lengths = list(range(0, 200)) + [255, 256, 257, 1000, 4095, 4096, 4097, 65535, 65536, 65537, 1000003]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sha256_vectors.txt")
with open(out, "w") as f:
    for n in lengths:
        msg = bytes((i * 7 + 3) & 0xFF for i in range(n))
        f.write("%d %s\n" % (n, hashlib.sha256(msg).hexdigest()))
