#!/usr/bin/env python3
"""Load a workload corpus (gen_corpus.py's JSON Lines) into a running Palimpsest through its
public GraphQL API, one mutation per revision, then write what the load test picks from:

    ids.txt      every document's global id as a JSON string, one per line (q1, q2)
    cursors.txt  the cursor before each page of 50 documents in the default order, as JSON
                 (null for the first page), one per line (q3)

    python3 benches/workload/load_corpus.py corpus.jsonl http://127.0.0.1:8080 TOKEN OUTDIR

Standard library only. Each document's source is recorded once with createSource and named
on every revision. The corpus holds a few revisions identical to their parent (same title
and text, e.g. 29 of 20,000); Palimpsest refuses those by design, so they are skipped here
and counted.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse

CREATE_SOURCE = "mutation($i: CreateSourceInput!) { createSource(input: $i) { source { id } } }"
CREATE = "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id } revision { hash } } }"
REVISE = "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { hash } } }"
PAGE = "query($after: String) { documents(first: 100, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }"


class Client:
    """One keep-alive connection; a request per call."""

    def __init__(self, url, token):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"content-type": "application/json"}
        if token:
            self.headers["authorization"] = "Bearer " + token

    def post(self, query, variables):
        body = json.dumps({"query": query, "variables": variables})
        self.connection.request("POST", "/graphql", body=body, headers=self.headers)
        answer = json.loads(self.connection.getresponse().read())
        if "errors" in answer:
            raise SystemExit(f"error: {answer['errors']}")
        return answer["data"]


def load(client, path):
    documents = {}
    revisions = skipped = 0
    started = time.monotonic()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            slug, revision = record["slug"], record["revision"]
            if revision["number"] == 0:
                source = record["source"]
                data = client.post(CREATE_SOURCE, {"i": {
                    "kind": "WEB_PAGE", "url": source["url"], "publisher": source["publisher"],
                    "authors": [source["author"]], "retrievedAt": source["retrieved_at"],
                    "title": record["title"],
                }})
                source_id = data["createSource"]["source"]["id"]
                data = client.post(CREATE, {"i": {
                    "slug": slug, "title": record["title"], "kind": "ARTICLE",
                    "content": record["content"], "message": revision["message"],
                    "source": source_id,
                }})["createDocument"]
                documents[slug] = (data["document"]["id"], data["revision"]["hash"], source_id,
                                   record["title"], revision["content_sha256"])
            else:
                doc_id, head, source_id, title, content_sha256 = documents[slug]
                if (title, content_sha256) == (record["title"], revision["content_sha256"]):
                    skipped += 1
                    continue
                data = client.post(REVISE, {"i": {
                    "documentId": doc_id, "expectedHead": head, "content": record["content"],
                    "title": record["title"], "message": revision["message"], "source": source_id,
                }})
                documents[slug] = (doc_id, data["reviseDocument"]["revision"]["hash"], source_id,
                                   record["title"], revision["content_sha256"])
            revisions += 1
    elapsed = time.monotonic() - started
    print(f"loaded {revisions} revisions of {len(documents)} documents in {elapsed:.1f} s "
          f"({revisions / elapsed:.0f} revisions/s through the API; "
          f"{skipped} identical to their parent skipped)")


def write_picks(client, outdir):
    ids, cursors, after = [], [None], None
    while True:
        page = client.post(PAGE, {"after": after})["documents"]
        for edge in page["edges"]:
            ids.append(edge["node"]["id"])
            cursors.append(edge["cursor"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["edges"][-1]["cursor"]
    # A page starting after cursor k holds 50 documents while k + 50 <= len(ids).
    pages = cursors[: max(1, len(ids) - 50 + 1)]
    with open(os.path.join(outdir, "ids.txt"), "w") as out:
        out.writelines(json.dumps(i) + "\n" for i in ids)
    with open(os.path.join(outdir, "cursors.txt"), "w") as out:
        # The first page has no cursor: the load test sends `null` for it.
        out.writelines(json.dumps(c) + "\n" for c in pages)


def main(path, url, token, outdir):
    client = Client(url, token)
    if path != "-":
        load(client, path)
    write_picks(client, outdir)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
