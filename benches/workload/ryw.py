#!/usr/bin/env python3
"""Read-your-writes, measured: what presenting a fresh consistency token adds to a read.

    python3 benches/workload/ryw.py URL TOKEN IDS_FILE COUNT

COUNT times: revise a random document of the workload corpus, then at once read its head twice
on one keep-alive connection — presenting the token the write's answer carried, then none —
timing each read. Prints
p50/p99 of the read with and without the token, how many reads with it saw the write (all must),
and how many of each a replica answered (the `Palimpsest-Staleness-Ms` header). Standard library.
"""
import http.client
import json
import random
import sys
import time
import urllib.parse

HEAD = "query($id: ID!) { document(id: $id) { head { hash content } } }"
REVISE = """mutation($i: ReviseDocumentInput!) {
  reviseDocument(input: $i) { revision { hash } } }"""


def main():
    url, token, ids_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ids = [json.loads(line) for line in open(ids_file) if line.strip()]
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)

    def post(query, variables, consistency=None, auth=False):
        headers = {"content-type": "application/json"}
        if auth:
            headers["authorization"] = f"Bearer {token}"
        if consistency:
            headers["palimpsest-consistency"] = consistency
        started = time.perf_counter()
        conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}), headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        took = time.perf_counter() - started
        if body.get("errors"):
            raise SystemExit(f"errors: {body['errors']}")
        return body, response.headers, took

    rng = random.Random(11)
    with_token, without, saw, by_replica = [], [], 0, {"with": 0, "without": 0}
    for n in range(count):
        document = rng.choice(ids)
        head = post(HEAD, {"id": document})[0]["data"]["document"]["head"]
        content = head["content"] + f"\nRead-your-writes {n}.\n"
        body, headers, _ = post(REVISE, {"i": {"documentId": document, "expectedHead": head["hash"],
                                               "content": content, "message": "ryw"}}, auth=True)
        written = body["data"]["reviseDocument"]["revision"]["hash"]
        consistency = headers.get("palimpsest-consistency")
        if not consistency:
            raise SystemExit("the write's answer carried no consistency token: is a replica configured?")
        body, headers, took = post(HEAD, {"id": document}, consistency=consistency)
        with_token.append(took)
        saw += body["data"]["document"]["head"]["hash"] == written
        by_replica["with"] += headers.get("palimpsest-staleness-ms") is not None
        _, headers, took = post(HEAD, {"id": document})
        without.append(took)
        by_replica["without"] += headers.get("palimpsest-staleness-ms") is not None

    def pct(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(p * len(values)))] * 1000

    print(f"reads right after a write, {count} each: with its token p50 {pct(with_token, .5):.2f} ms "
          f"p99 {pct(with_token, .99):.2f} ms ({by_replica['with']} by the replica, {saw} saw the write); "
          f"without p50 {pct(without, .5):.2f} ms p99 {pct(without, .99):.2f} ms "
          f"({by_replica['without']} by the replica)")
    if saw != count:
        raise SystemExit(f"{count - saw} reads presenting their write's token did not see it")


if __name__ == "__main__":
    main()
