#!/usr/bin/env python3
"""The failover drill: writes and reads through HAProxy before three nodes, one primary and one
replica (`deploy/local-cluster.sh up`), while the topology is broken and mended, then a count.

Timeline, under load the whole time:
  1. kill -9 node 2: clients retry on another node; the balancer stops sending to it;
  2. stop the replica: every node takes it out of rotation within --replica-max-lag-ms and reads
     go to the primary;
  3. restart the primary: writes answer UNAVAILABLE (503, Retry-After) or fail to connect, then
     succeed again, with no node restarted;
  4. node 2 and the replica come back and rejoin.
Then the count: every acknowledged write is in its document's history exactly once, and so is
every write whose answer was lost but which landed; no content is there twice; each checkpoint
size seen has one root; `palimpsest verify` (chains, hashes, log, checkpoints' signatures)
passes on the primary.

A write is made exactly once by construction, not by luck: each writer owns its documents and
revises with `expectedHead`, so a retry of a write that had landed is refused with CONFLICT,
and the writer then finds its text at the head. Exits non-zero, saying why, on any loss.
Standard library only.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

LB = "http://127.0.0.1:8090"
NODES = ["http://127.0.0.1:8091", "http://127.0.0.1:8092", "http://127.0.0.1:8093"]
PRIMARY = "postgres://postgres@127.0.0.1:5435/palimpsest"
MAX_LAG_S = 2.0
DOCUMENTS = 8
WRITERS = 4
READERS = 2


def post(base, body, token=None, consistency=None, timeout=20):
    """(status or None, headers, parsed body or error text)."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if consistency:
        headers["palimpsest-consistency"] = consistency
    request = urllib.request.Request(
        base + "/graphql", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            return err.code, err.headers, json.loads(text)
        except ValueError:
            return err.code, err.headers, text.decode(errors="replace")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        return None, {}, str(err)


def error_code(body):
    if isinstance(body, dict) and body.get("errors"):
        return body["errors"][0].get("extensions", {}).get("code", "?")
    return None


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n


tally = Tally()
stop = threading.Event()
failures = []
newest_token = {"value": None}
# When every live node had taken the stopped replica out of rotation: no read begun after it may
# be answered by the replica.
replica_out_at = {"value": None}


def fail(message):
    failures.append(message)
    print("FAIL:", message, flush=True)
    stop.set()


REVISE = """mutation($id: ID!, $head: String!, $content: String!) {
  reviseDocument(input: { documentId: $id, expectedHead: $head, content: $content }) {
    revision { hash } } }"""
HEAD = "query($id: ID!) { node(id: $id) { ... on Document { head { hash content } } } }"


def transient(status, body):
    """A failure a client retries: no answer, the balancer or a node unavailable."""
    return status is None or status in (502, 503, 504) or error_code(body) == "UNAVAILABLE"


def retry_after(headers):
    try:
        return min(float(headers.get("retry-after", "0.2")), 2.0)
    except (TypeError, ValueError):
        return 0.2


class Writer(threading.Thread):
    def __init__(self, token, documents):
        super().__init__(daemon=True)
        self.token = token
        self.documents = documents  # [{"id", "slug", "head", "acked": [], "landed": []}]

    def run(self):
        k = 0
        while not stop.is_set():
            for doc in self.documents:
                if stop.is_set():
                    break
                self.write(doc, f"drill {doc['slug']} write {k}\n")
            k += 1
            time.sleep(0.02)

    def write(self, doc, content):
        deadline = time.time() + 60
        while time.time() < deadline:
            status, headers, body = post(
                LB, {"query": REVISE, "variables": {"id": doc["id"], "head": doc["head"], "content": content}},
                token=self.token,
            )
            data = body.get("data") if isinstance(body, dict) else None
            if status == 200 and data and data.get("reviseDocument"):
                doc["head"] = data["reviseDocument"]["revision"]["hash"]
                doc["acked"].append(content)
                token = (body.get("extensions") or {}).get("consistency")
                if token:
                    # Fixed-width hexadecimal: the greatest string is the newest position.
                    with tally.lock:
                        newest_token["value"] = max(token, newest_token["value"] or token)
                tally.add("writes acknowledged")
                return
            if error_code(body) == "CONFLICT":
                # Only this writer revises this document: an earlier attempt landed.
                doc["head"] = self.find_landed(doc, content)
                doc["landed"].append(content)
                tally.add("writes landed, answer lost")
                return
            if transient(status, body):
                tally.add(f"write retried after {status or 'no answer'} {error_code(body) or ''}".strip())
                if status == 503 and headers.get("retry-after"):
                    tally.add("write told UNAVAILABLE with Retry-After")
                time.sleep(retry_after(headers))
                continue
            fail(f"a write failed for good: {status} {body}")
            return
        fail(f"a write to {doc['slug']} got no answer for 60 s")

    def find_landed(self, doc, content):
        # A replica may not have replayed it yet: read until the head is ours (at most the lag,
        # or until a stopped replica leaves the rotation).
        deadline = time.time() + 30
        while time.time() < deadline:
            status, _, body = post(LB, {"query": HEAD, "variables": {"id": doc["id"]}})
            if status == 200 and isinstance(body, dict) and body.get("data"):
                head = body["data"]["node"]["head"]
                if head["content"] == content:
                    return head["hash"]
            time.sleep(0.2)
        fail(f"CONFLICT on {doc['slug']} but its head never became the write retried")
        return doc["head"]


class Reader(threading.Thread):
    def __init__(self, documents):
        super().__init__(daemon=True)
        self.documents = documents

    def run(self):
        i = 0
        while not stop.is_set():
            doc = self.documents[i % len(self.documents)]
            i += 1
            for _ in range(100):
                began = time.time()
                status, headers, body = post(LB, {"query": HEAD, "variables": {"id": doc["id"]}})
                if status == 200 and isinstance(body, dict) and body.get("data"):
                    tally.add("reads answered")
                    if headers.get("palimpsest-staleness-ms") is not None:
                        tally.add("reads answered by the replica")
                        out = replica_out_at["value"]
                        if out is not None and began > out:
                            fail(f"a read begun {began - out:.2f} s after the replica left the "
                                 "rotation was answered by it")
                    break
                if not transient(status, body):
                    fail(f"a read failed for good: {status} {body}")
                    return
                tally.add("read retried")
                time.sleep(retry_after(headers))
            else:
                fail("a read got no answer after 100 tries")
                return


def readyz(node):
    try:
        with urllib.request.urlopen(node + "/readyz", timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            return json.loads(err.read() or b"{}")
        except ValueError:
            return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def checkpoints_seen(seen):
    query = {"query": "{ transparencyLog { size rootHash } }"}
    for node in NODES:
        status, _, body = post(node, query, timeout=2)
        if status == 200 and isinstance(body, dict) and body.get("data"):
            log = body["data"]["transparencyLog"]
            seen.setdefault(log["size"], set()).add(log["rootHash"])


def cluster(script, *args):
    subprocess.run(["bash", script, *args], check=True)


def step(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def history(doc):
    """Every revision's content, oldest first, read on a node with the newest token."""
    contents, after = [], None
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Document {
      revisions(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
        edges { node { number content } } } } } }"""
    while True:
        status, _, body = post(
            NODES[0], {"query": query, "variables": {"id": doc["id"], "after": after}},
            consistency=newest_token["value"],
        )
        if status != 200 or error_code(body):
            raise SystemExit(f"cannot read the history of {doc['slug']}: {status} {body}")
        page = body["data"]["node"]["revisions"]
        contents += [(edge["node"]["number"], edge["node"]["content"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return [content for _, content in sorted(contents)]
        after = page["pageInfo"]["endCursor"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster-dir", required=True)
    parser.add_argument("--script", required=True)
    args = parser.parse_args()
    palimpsest = os.environ.get("PALIMPSEST_BIN", "palimpsest")
    env = dict(os.environ, DATABASE_URL=PRIMARY)
    env.pop("RUST_LOG", None)
    token = subprocess.run(
        [palimpsest, "token", "create", "--agent", "Drill Editor", "--role", "editor"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()

    documents = []
    run = str(int(time.time()))
    create = """mutation($slug: String!, $content: String!) {
      createDocument(input: { slug: $slug, title: $slug, kind: ARTICLE, content: $content }) {
        document { id } revision { hash } } }"""
    for n in range(DOCUMENTS):
        slug = f"drill-{run}-{n}"
        content = f"drill {slug} write start\n"
        status, _, body = post(LB, {"query": create, "variables": {"slug": slug, "content": content}}, token=token)
        if status != 200 or error_code(body):
            raise SystemExit(f"cannot create {slug}: {status} {body}")
        created = body["data"]["createDocument"]
        documents.append({"id": created["document"]["id"], "slug": slug,
                          "head": created["revision"]["hash"], "acked": [content], "landed": []})

    threads = [Writer(token, documents[w::WRITERS]) for w in range(WRITERS)]
    threads += [Reader(documents) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    seen = {}

    def under_load(seconds):
        end = time.time() + seconds
        while time.time() < end and not stop.is_set():
            checkpoints_seen(seen)
            time.sleep(0.25)

    step("load running through the balancer")
    under_load(3)
    before = tally.counts.get("writes acknowledged", 0)
    step("kill -9 node 2")
    cluster(args.script, "kill-node", "2")
    under_load(4)
    step(f"writes acknowledged meanwhile: {tally.counts.get('writes acknowledged', 0) - before}")

    step("stop the replica")
    stopped = time.time()
    cluster(args.script, "stop-replica")
    out_after = None
    while time.time() - stopped < MAX_LAG_S + 5:
        states = [readyz(node) for node in (NODES[0], NODES[2])]
        if all(s and s.get("replicas") and not s["replicas"][0]["inRotation"] for s in states):
            replica_out_at["value"] = time.time()
            out_after = replica_out_at["value"] - stopped
            break
        checkpoints_seen(seen)
        time.sleep(0.1)
    if out_after is None:
        fail(f"the stopped replica was still in rotation after {MAX_LAG_S + 5} s")
    else:
        step(f"the replica left the rotation on nodes 1 and 3 after {out_after:.2f} s")
    under_load(3)

    step("restart the primary")
    restarted = time.time()
    restart = subprocess.Popen(["bash", args.script, "restart-primary"])
    while restart.poll() is None:
        checkpoints_seen(seen)
        time.sleep(0.05)
    if restart.returncode != 0:
        fail("the primary did not restart")
    back = time.time()
    acked = tally.counts.get("writes acknowledged", 0)
    while tally.counts.get("writes acknowledged", 0) == acked and time.time() - back < 60:
        time.sleep(0.01)
    if tally.counts.get("writes acknowledged", 0) == acked:
        fail("no write was acknowledged within 60 s of the primary's restart")
    step(f"the primary was down {back - restarted:.2f} s; the next write was acknowledged "
         f"{time.time() - back:.2f} s after it came back, with no node restarted")
    under_load(3)

    replica_out_at["value"] = None
    step("node 2 and the replica come back")
    cluster(args.script, "start-node", "2")
    cluster(args.script, "start-replica")
    under_load(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    checkpoints_seen(seen)

    step("counting")
    for doc in documents:
        stored = history(doc)
        for content in doc["acked"] + doc["landed"]:
            if stored.count(content) != 1:
                fail(f"{doc['slug']}: {content.strip()!r} is there {stored.count(content)} times")
        extra = set(stored) - set(doc["acked"]) - set(doc["landed"])
        if extra:
            fail(f"{doc['slug']}: revisions no writer wrote: {sorted(extra)[:3]}")
        if len(stored) != len(set(stored)):
            fail(f"{doc['slug']}: a content is there twice")
    forks = {size: roots for size, roots in seen.items() if len(roots) > 1}
    if forks:
        fail(f"checkpoints forked: {forks}")
    verifier = subprocess.run(
        [palimpsest, "log-key", "--log-key", os.path.join(args.cluster_dir, "log.key")],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()
    verify = subprocess.run(
        [palimpsest, "verify", "--verifier-key", verifier], env=env, capture_output=True, text=True
    )
    print(verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip())
    if verify.returncode != 0:
        fail(f"palimpsest verify failed: {verify.stdout}{verify.stderr}")

    written = sum(len(doc["acked"]) + len(doc["landed"]) for doc in documents)
    print(json.dumps({"documents": DOCUMENTS, "revisions written": written,
                      "checkpoint sizes seen": len(seen), **tally.counts}, indent=2))
    if failures:
        print(f"the drill failed: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("the drill passed: every acknowledged write is there once, the log verifies")


if __name__ == "__main__":
    main()
