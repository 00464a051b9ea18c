#!/usr/bin/env python3
"""The reference corpus (gen_corpus.py's JSON Lines) as a `git fast-import` stream: one branch
per document, one commit per revision (its author, time and message) whose tree holds the
text as `doc.txt`. The peer the bulk import is measured against, in the same run.

    python3 to_fast_import.py corpus.jsonl > corpus.fi
"""

import calendar
import json
import sys
import time


def main(path):
    out = sys.stdout.buffer
    mark = 0
    heads = {}
    with open(path, encoding="utf-8") as corpus:
        for line in corpus:
            record = json.loads(line)
            revision, document = record["revision"], record["doc_index"]
            text = record["content"].encode()
            mark += 1
            blob = mark
            out.write(b"blob\nmark :%d\ndata %d\n" % (blob, len(text)) + text + b"\n")
            mark += 1
            message = revision["message"].encode()
            when = calendar.timegm(time.strptime(revision["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
            out.write(b"commit refs/heads/d%d\nmark :%d\n" % (document, mark))
            out.write(b"committer %s %d +0000\n" % (revision["author"].encode(), when))
            out.write(b"data %d\n%s\n" % (len(message), message))
            if document in heads:
                out.write(b"from :%d\n" % heads[document])
            out.write(b"M 100644 :%d doc.txt\n\n" % blob)
            heads[document] = mark


if __name__ == "__main__":
    main(sys.argv[1])
