#!/usr/bin/env python3
"""Verify a Palimpsest archive (docs/archive-format.md) with nothing but RFC 8785 and SHA-256.

    python3 docs/verify_archive.py ARCHIVE.jsonl

For every revision record it rebuilds the revision header from the record's own fields, in
RFC 8785 canonical form (`pip install rfc8785`, an implementation independent of
Palimpsest's), and checks that the SHA-256 of the content is `content_sha256`, that the
SHA-256 of the header is `hash`, and that each document's revisions form one chain (numbers
from 1, each `parent` the hash before it, times strictly increasing). Prints a summary and
exits 1 at the first line that fails.
"""
import hashlib
import json
import sys

import rfc8785


def main(path: str) -> None:
    chains = {}
    revisions = 0
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            record = json.loads(raw)
            if record.get("type") != "revision":
                continue
            def fail(why):
                raise SystemExit(f"line {number}: {why}")
            if record.get("redacted"):
                content_hash = record["content_sha256"]
            else:
                content_hash = hashlib.sha256(record["content"].encode("utf-8")).hexdigest()
                if content_hash != record.get("content_sha256", content_hash):
                    fail(f"content hashes to {content_hash}, not {record['content_sha256']}")
            header = {
                "type": "palimpsest.revision/v1",
                "document": record["document"],
                "parent": record["parent"],
                "title": record["title"],
                "content_sha256": content_hash,
                "author": record["author"],
                "created_at": record["created_at"],
                "message": record["message"],
                "source": record["source"],
            }
            digest = hashlib.sha256(rfc8785.dumps(header)).hexdigest()
            if digest != record["hash"]:
                fail(f"the header hashes to {digest}, not {record['hash']}")
            last = chains.get(record["document"])
            want = (last[0] + 1, last[1]) if last else (1, None)
            if (record["number"], record["parent"]) != want:
                fail(f"revision {record['number']} with parent {record['parent']} breaks the chain")
            if last and record["created_at"] <= last[2]:
                fail("created_at does not increase along the history")
            chains[record["document"]] = (record["number"], digest, record["created_at"])
            revisions += 1
    print(f"{revisions} revisions of {len(chains)} documents: every hash and chain checks")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
