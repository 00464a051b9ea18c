#!/usr/bin/env python3
"""The write half of the soak: revises random documents of a loaded workload corpus through
the API for DURATION seconds, each revision a small edit of the head's text, and reports how
many it wrote and how many failed.

    python3 benches/workload/write_load.py URL TOKEN IDS_FILE SECONDS

One keep-alive connection; the head is read before each revision, so no write conflicts
unless something else writes the same document. Standard library only.
"""
import json
import random
import sys
import time

from load_corpus import Client

HEAD = "query($id: ID!) { document(id: $id) { head { hash content } } }"
REVISE = "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { hash } } }"


def main():
    url, token, ids_file, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    ids = [json.loads(line) for line in open(ids_file) if line.strip()]
    client = Client(url, token)
    rng = random.Random(7)
    written = failed = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        document = rng.choice(ids)
        try:
            head = client.post(HEAD, {"id": document})["document"]["head"]
            content = head["content"] + f"\nSoak edit {written + failed}.\n"
            client.post(REVISE, {"i": {"documentId": document, "expectedHead": head["hash"],
                                       "content": content, "message": "soak"}})
            written += 1
        except SystemExit as failure:  # Client.post's way of reporting GraphQL errors
            failed += 1
            print(str(failure)[:300], file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"writes: {written} ({written / elapsed:.0f}/s), failed: {failed}")


if __name__ == "__main__":
    main()
