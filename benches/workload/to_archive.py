#!/usr/bin/env python3
"""Turn a workload corpus (gen_corpus.py's JSON Lines) into a Palimpsest archive
(docs/archive-format.md) that `palimpsest import` reads, with every id derived from the
corpus (UUID v5), so the same corpus always gives the same archive and the same hashes.

    python3 benches/workload/to_archive.py corpus.jsonl archive.jsonl

Authors become agents (the name before " <email>"), each document's source a source; a
revision identical to its parent (same title and text; the corpus holds a few) is left out,
as the API refuses it. Each revision's hash is computed here (RFC 8785 header, SHA-256), so
the archive names its parents as `palimpsest import` requires. Standard library only.
"""
import hashlib
import json
import sys
import uuid

NAMESPACE = uuid.UUID("9f5a6c1e-3b7d-5e2a-8c4f-0d1e2f3a4b5c")


def time6(value):
    """RFC 3339 with six fractional digits and Z, as headers hold times."""
    assert value.endswith("Z") and "." not in value, value
    return value[:-1] + ".000000Z"


def header_hash(header):
    # RFC 8785 for an object of strings and nulls: sorted keys, no whitespace, and the same
    # string escapes as JSON.stringify, which json.dumps with ensure_ascii=False writes.
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def main(source_path, out_path):
    agents, heads = set(), {}
    with open(source_path, encoding="utf-8") as lines, open(out_path, "w", encoding="utf-8") as out:
        def write(record):
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

        for line in lines:
            record = json.loads(line)
            slug, revision = record["slug"], record["revision"]
            name = revision["author"].split(" <")[0]
            author = str(uuid.uuid5(NAMESPACE, "agent:" + name))
            if author not in agents:
                agents.add(author)
                write({"type": "agent", "id": author, "name": name, "kind": "person",
                       "created_at": "2024-01-01T00:00:00.000000Z"})
            document = str(uuid.uuid5(NAMESPACE, "document:" + slug))
            source = str(uuid.uuid5(NAMESPACE, "source:" + slug))
            content_sha256 = hashlib.sha256(record["content"].encode("utf-8")).hexdigest()
            head = heads.get(slug)
            if head is None:
                s = record["source"]
                write({"type": "source", "id": source, "kind": "web_page", "title": record["title"],
                       "url": s["url"], "publisher": s["publisher"], "authors": [s["author"]],
                       "recipients": [], "retrieved_at": time6(s["retrieved_at"]),
                       "created_at": time6(s["retrieved_at"])})
            elif (head["title"], head["content_sha256"]) == (record["title"], content_sha256):
                continue
            header = {
                "type": "palimpsest.revision/v1", "document": document,
                "parent": head["hash"] if head else None, "title": record["title"],
                "content_sha256": content_sha256, "author": author,
                "created_at": time6(revision["created_at"]), "message": revision["message"],
                "source": source,
            }
            digest = header_hash(header)
            number = head["number"] + 1 if head else 1
            write({"type": "revision", "document": document, "slug": slug, "kind": "article",
                   "number": number, "hash": digest, "parent": header["parent"],
                   "title": record["title"], "message": revision["message"], "author": author,
                   "source": source, "created_at": header["created_at"],
                   "content_sha256": content_sha256, "content": record["content"]})
            heads[slug] = {"hash": digest, "number": number, "title": record["title"],
                           "content_sha256": content_sha256}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
