#!/usr/bin/env python3
"""Writes beside the Zipf readers: RATE revisions a second for SECONDS, half to the HOT most read
documents (the first lines of the picks file, which zipf.lua ranks first), half to any. Each
is a small edit appended to the head's text.

    python3 benches/workload/steady_writes.py api URL TOKEN IDS_FILE RATE SECONDS
    python3 benches/workload/steady_writes.py sql DATABASE_URL - IDS_FILE RATE SECONDS

`api` revises through Palimpsest's API (the head read, then `reviseDocument` with it as
`expectedHead`); `sql` writes the same rows PostGraphile's schema holds (a revision row after
the newest, its SHA-256s computed by PostgreSQL) through one psql session, for the peer. Prints
how many it wrote, at what rate, and how many failed. Standard library (and psql) only.
"""
import json
import random
import subprocess
import sys
import threading
import time

from load_corpus import Client

HOT = 20
# Connections writing through the API at once.
WRITERS = 8
HEAD = "query($id: ID!) { document(id: $id) { head { hash content } } }"
REVISE = "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { hash } } }"
PEER_REVISION = """INSERT INTO revisions (document_id, number, parent_id, sha256, content_sha256,
  author, message, created_at, content)
SELECT r.document_id, r.number + 1, r.id,
  sha256(convert_to(r.content || E'\\nSteady edit {n}.\\n' || clock_timestamp(), 'UTF8')),
  sha256(convert_to(r.content || E'\\nSteady edit {n}.\\n', 'UTF8')),
  'steady writer', 'steady edit', now(), r.content || E'\\nSteady edit {n}.\\n'
FROM revisions r WHERE r.document_id = {id} ORDER BY r.number DESC LIMIT 1;
"""


def main():
    mode, url, token, ids_file, rate, seconds = sys.argv[1:7]
    rate, seconds = float(rate), float(seconds)
    ids = [json.loads(line) for line in open(ids_file) if line.strip()]
    if mode == "api":
        # Several connections, so that the rate holds while readers keep the server busy
        # (one write, its head read and revision, takes tens of ms then).
        clients = threading.local()

        def write(document, n):
            if not hasattr(clients, "client"):
                clients.client = Client(url, token)
            for attempt in range(5):
                head = clients.client.post(HEAD, {"id": document})["document"]["head"]
                try:
                    clients.client.post(REVISE, {"i": {
                        "documentId": document, "expectedHead": head["hash"],
                        "content": head["content"] + f"\nSteady edit {n}.\n",
                        "message": "steady edit"}})
                    return
                except SystemExit as failure:
                    # Another writer revised the same (hot) document first: read and try again.
                    if "CONFLICT" not in str(failure) or attempt == 4:
                        raise
        writers = WRITERS
    elif mode == "sql":
        psql = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", url],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

        def write(document, n):
            psql.stdin.write(PEER_REVISION.format(id=int(document), n=n))
            psql.stdin.flush()
        writers = 1
    else:
        raise SystemExit(f"unknown mode {mode!r}: api or sql")

    lock = threading.Lock()
    counts = {"next": 0, "written": 0, "failed": 0}
    started = time.monotonic()

    def run(seed):
        rng = random.Random(seed)
        while True:
            with lock:
                n = counts["next"]
                counts["next"] += 1
            # On schedule, not as fast as possible: the n-th write is due at n / rate.
            due = started + n / rate if rate > 0 else started + seconds
            if due - started >= seconds:
                return
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            hot = rng.random() < 0.5
            document = ids[rng.randrange(min(HOT, len(ids)))] if hot else rng.choice(ids)
            try:
                write(document, n)
                outcome = "written"
            except SystemExit as failure:  # Client.post's way of reporting GraphQL errors
                outcome = "failed"
                print(str(failure)[:300], file=sys.stderr)
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=run, args=(11 + i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written, failed = counts["written"], counts["failed"]
    if mode == "sql":
        psql.stdin.close()
        psql.wait()
    elapsed = time.monotonic() - started
    print(f"writes: {written} ({written / elapsed:.1f}/s), failed: {failed}")


if __name__ == "__main__":
    main()
