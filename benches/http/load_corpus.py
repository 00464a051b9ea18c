#!/usr/bin/env python3
"""Load the reference benchmark corpus (../shared/bench/gen_corpus.py output, JSON Lines) into
a running Palimpsest through its public GraphQL API, one mutation per revision, and print the
rate. Standard library only.

    python3 benches/http/load_corpus.py corpus.jsonl http://127.0.0.1:8080 TOKEN

The corpus holds a few revisions identical to their parent (29 of 20,000); Palimpsest refuses
those by design, so they are skipped and counted.

Each document's source (URL, publisher, author, retrieval time) is recorded once with
createSource and named on every revision, since every revision of a document in this corpus
was captured from it.
"""
import json
import sys
import time
import urllib.request

CREATE_SOURCE = "mutation($i: CreateSourceInput!) { createSource(input: $i) { source { id } } }"
CREATE = "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id } revision { hash } } }"
REVISE = "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { hash } } }"


class Identical(Exception):
    pass


def post(url, token, query, variables):
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        url + "/graphql",
        data=body,
        headers={"content-type": "application/json", "authorization": "Bearer " + token},
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    if "errors" in answer:
        if "identical to the head" in answer["errors"][0]["message"]:
            raise Identical()
        raise SystemExit(f"error: {answer['errors']}")
    return answer["data"]


def main(path, url, token):
    documents = {}
    started = time.monotonic()
    revisions = 0
    skipped = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            slug = record["slug"]
            if record["revision"]["number"] == 0:
                source = record["source"]
                data = post(url, token, CREATE_SOURCE, {"i": {
                    "kind": "WEB_PAGE", "url": source["url"], "publisher": source["publisher"],
                    "authors": [source["author"]], "retrievedAt": source["retrieved_at"],
                    "title": record["title"],
                }})
                source_id = data["createSource"]["source"]["id"]
                data = post(url, token, CREATE, {"i": {
                    "slug": slug, "title": record["title"], "kind": "ARTICLE",
                    "content": record["content"], "message": record["revision"]["message"],
                    "source": source_id,
                }})
                documents[slug] = (data["createDocument"]["document"]["id"], data["createDocument"]["revision"]["hash"], source_id)
            else:
                doc_id, head, source_id = documents[slug]
                try:
                    data = post(url, token, REVISE, {"i": {
                        "documentId": doc_id, "expectedHead": head, "content": record["content"],
                        "title": record["title"], "message": record["revision"]["message"], "source": source_id,
                    }})
                except Identical:
                    skipped += 1
                    continue
                documents[slug] = (doc_id, data["reviseDocument"]["revision"]["hash"], source_id)
            revisions += 1
    elapsed = time.monotonic() - started
    print(
        f"{revisions} revisions of {len(documents)} documents in {elapsed:.1f} s: "
        f"{revisions / elapsed:.0f} revisions/s ({skipped} identical to their parent skipped)"
    )
    with open("bench-ids.json", "w") as out:
        json.dump({slug: {"id": v[0], "head": v[1]} for slug, v in documents.items()}, out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
