#!/usr/bin/env python3
"""Verify a Palimpsest revision with nothing but RFC 8785 and SHA-256.

    python3 docs/verify_revision.py HEADER_FILE CONTENT_FILE [EXPECTED_HASH]
    python3 docs/verify_revision.py --test-vector

HEADER_FILE holds a revision's `header` exactly as served; CONTENT_FILE its `content`.
The script re-canonicalises the header with an independent RFC 8785 implementation
(`pip install rfc8785`), checks that it is already canonical, that its `content_sha256`
is the SHA-256 of the content, and prints the revision hash (SHA-256 of the header).
"""
import hashlib
import json
import sys

import rfc8785

TEST_VECTOR = {
    "header": {
        "type": "palimpsest.revision/v1",
        "document": "019abcde-0123-7456-89ab-0123456789ab",
        "parent": None,
        "title": "Former security chiefs write to Trump \u2014 \"end the war\"",
        "content_sha256": "537dd50b26c5a1707437be3d6b35bb85ba9dbc4bb2b4dfded9ee3dfd7fae3a3f",
        "author": "019abcde-0000-7000-8000-000000000001",
        "created_at": "2026-11-24T10:15:30.123456Z",
        "message": "Captured from the print edition\tp. 3",
        "source": None,
    },
    "content": "Hamas has been dismantled as a military and governmental force.\n",
    "hash": "eaef801cb33c29cd8b2122a2733ea4dcc0e3eb5492a2f23776fe5d76b85f1151",
}


def verify(header_bytes: bytes, content_bytes: bytes) -> str:
    header = json.loads(header_bytes.decode("utf-8"))
    canonical = rfc8785.dumps(header)
    if canonical != header_bytes:
        raise SystemExit("header is not in RFC 8785 canonical form")
    if header.get("type") != "palimpsest.revision/v1":
        raise SystemExit(f"unknown header type {header.get('type')!r}")
    content_hash = hashlib.sha256(content_bytes).hexdigest()
    if header["content_sha256"] != content_hash:
        raise SystemExit(f"content_sha256 {header['content_sha256']} != SHA-256 of content {content_hash}")
    return hashlib.sha256(canonical).hexdigest()


def main(argv: list) -> None:
    if argv[1:] == ["--test-vector"]:
        header_bytes = rfc8785.dumps(TEST_VECTOR["header"])
        digest = verify(header_bytes, TEST_VECTOR["content"].encode("utf-8"))
        if digest != TEST_VECTOR["hash"]:
            raise SystemExit(f"test vector hash {digest} != published {TEST_VECTOR['hash']}")
        print(header_bytes.decode("utf-8"))
        print(digest)
        return
    if len(argv) not in (3, 4):
        raise SystemExit(__doc__)
    with open(argv[1], "rb") as f:
        header_bytes = f.read()
    with open(argv[2], "rb") as f:
        content_bytes = f.read()
    digest = verify(header_bytes, content_bytes)
    if len(argv) == 4 and digest != argv[3]:
        raise SystemExit(f"revision hash {digest} != expected {argv[3]}")
    print(digest)


if __name__ == "__main__":
    main(sys.argv)
