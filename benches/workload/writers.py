#!/usr/bin/env python3
"""Many writers at once: N clients, each creating a document of its own and revising it for
SECONDS through the API, as fast as answers come. Prints the revisions written and every
refusal by error code (UNAVAILABLE would mean a write lost its turn at the database's lock).

    python3 benches/workload/writers.py URL TOKEN N SECONDS

Standard library only.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

CREATE = """mutation($slug: String!) { createDocument(input: {
  slug: $slug, title: $slug, kind: ARTICLE, content: "start\\n" }) {
  document { id } revision { hash } } }"""
REVISE = """mutation($id: ID!, $head: String!, $content: String!) {
  reviseDocument(input: { documentId: $id, expectedHead: $head, content: $content }) {
    revision { hash } } }"""


def main():
    url, token, writers, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    lock = threading.Lock()
    written, refused = [0], {}

    def post(query, variables):
        request = urllib.request.Request(
            url.rstrip("/") + "/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            return json.loads(err.read())

    def write(k):
        try:
            write_for_a_while(k)
        except Exception as err:  # a writer that stops early is a failure, not silence
            with lock:
                refused[f"writer stopped: {type(err).__name__}"] = refused.get(
                    f"writer stopped: {type(err).__name__}", 0) + 1

    def write_for_a_while(k):
        created = post(CREATE, {"slug": f"writer-{k}-{int(time.time())}"})["data"]["createDocument"]
        document, head = created["document"]["id"], created["revision"]["hash"]
        end, n = time.time() + seconds, 0
        while time.time() < end:
            body = post(REVISE, {"id": document, "head": head, "content": f"writer {k} edit {n}\n"})
            n += 1
            with lock:
                if body.get("data") and body["data"].get("reviseDocument"):
                    head = body["data"]["reviseDocument"]["revision"]["hash"]
                    written[0] += 1
                else:
                    code = body["errors"][0].get("extensions", {}).get("code", "?")
                    refused[code] = refused.get(code, 0) + 1

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    print(f"{writers} writers for {seconds:.0f} s: {written[0]} revisions "
          f"({written[0] / elapsed:.0f}/s), refused: {refused or 'none'}")
    sys.exit(1 if refused else 0)


if __name__ == "__main__":
    main()
