#!/usr/bin/env python3
"""Verify a Palimpsest change receipt offline, and say what changed and when.

    python3 docs/verify_receipt.py RECEIPT_FILE VERIFIER_KEY

VERIFIER_KEY is the log's verifier key (`palimpsest log-key` prints it), obtained out of band:
it is the one thing taken on trust. RECEIPT_FILE may be "-" for standard input. The format is
docs/receipts.md. Every part is checked, and the first that fails is named:

* the file is the receipt's canonical JSON (RFC 8785), byte for byte;
* its signature, a signed note by the log's key, is over the SHA-256 of that JSON without the
  signature member: nothing in it (document, captures, sightings) was changed;
* the checkpoint is signed by the same key;
* for each revision: the header hashes to the revision hash, names the receipt's document,
  and its `content_sha256` is the SHA-256 of the text (a redacted revision carries its
  redaction instead); its inclusion proof leads from the revision hash to the checkpoint's
  root;
* the word changes rebuild both texts exactly.

Exit status: 0 when everything verifies, 1 when something does not (named), 2 on bad input.
Needs Python 3.8+ and the `cryptography` package; it uses verify_log.py from its own folder.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import verify_log  # noqa: E402  (the log's checks, from beside this file)

RECEIPT_TYPE = "palimpsest.change-receipt/v1"
STATEMENT = "palimpsest change receipt v1 sha256:"


class Failed(Exception):
    """A part of the receipt does not verify; the message names it."""


def canonical(value):
    """RFC 8785 for what a receipt holds: strings, integers, booleans, null, arrays, objects."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check(condition, part, why):
    if not condition:
        raise Failed(f"{part}: {why}")


def verify(raw, key):
    """The receipt in `raw` (bytes), checked against `key` (a verify_log.VerifierKey)."""
    try:
        receipt = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Failed(f"file: not a JSON document ({e})") from None
    check(isinstance(receipt, dict), "file", "not a JSON object")
    check(canonical(receipt).encode("utf-8") == raw, "file",
          "not the receipt's canonical JSON byte for byte (was it re-formatted or edited?)")
    check(receipt.get("type") == RECEIPT_TYPE, "type", f"not {RECEIPT_TYPE}")

    signature = receipt.pop("signature", None)
    check(isinstance(signature, str), "signature", "missing")
    log = receipt.get("log") or {}
    check(log.get("keyName") == key.name, "log.keyName",
          f"{log.get('keyName')!r} is not the verifier key's name {key.name!r}")
    try:
        text = verify_log.open_note(signature, key)
    except verify_log.VerificationError as e:
        raise Failed(f"signature: {e}") from None
    digest = hashlib.sha256(canonical(receipt).encode("utf-8")).hexdigest()
    check(text == f"{key.name}\n{STATEMENT}{digest}\n", "signature",
          "signs another receipt: some part of this one was changed")

    try:
        origin, size, root, _ = verify_log.open_checkpoint(log.get("checkpoint", ""), key)
    except verify_log.VerificationError as e:
        raise Failed(f"log.checkpoint: {e}") from None
    check(origin == key.name, "log.checkpoint", f"its origin {origin!r} is not the key's name")

    document = receipt.get("document") or {}
    texts = {}
    for name in ("from", "to"):
        side = receipt.get(name) or {}
        header_text = side.get("header")
        check(isinstance(header_text, str), f"{name}.header", "missing")
        header_hash = hashlib.sha256(header_text.encode("utf-8")).hexdigest()
        check(header_hash == side.get("hash"), f"{name}.header",
              f"hashes to {header_hash}, not the revision hash {side.get('hash')}")
        header = json.loads(header_text)
        check(header.get("document") == document.get("id"), f"{name}.header",
              "names another document than the receipt's")
        content = side.get("content")
        if content is None:
            check(side.get("redaction") is not None, f"{name}.content",
                  "missing, and the revision is not redacted")
        else:
            content_hash = hashlib.sha256(content.encode("utf-8")).hexdigest()
            check(content_hash == header.get("content_sha256"), f"{name}.content",
                  "does not hash to the header's content_sha256")
        check(side.get("treeSize") == size, f"{name}.treeSize",
              f"the proof is for a tree of {side.get('treeSize')}, the checkpoint's is {size}")
        try:
            proof = [bytes.fromhex(h) for h in side.get("inclusionProof", [])]
            verify_log.verify_inclusion(side.get("logIndex"), size,
                                        bytes.fromhex(side["hash"]), proof, root)
        except (ValueError, TypeError, KeyError, verify_log.VerificationError) as e:
            raise Failed(f"{name}.inclusionProof: {e}") from None
        texts[name] = (header, content, side)

    changes = receipt.get("changes")
    if changes is not None:
        rebuilt = {
            "from": "".join(c["text"] for c in changes if c["op"] in ("equal", "delete")),
            "to": "".join(c["text"] for c in changes if c["op"] in ("equal", "insert")),
        }
        for name in ("from", "to"):
            check(rebuilt[name] == texts[name][1], "changes",
                  f"do not rebuild the {name} text")
    return receipt, texts, changes


def describe(receipt, texts, changes):
    document = receipt["document"]
    lines = [f"verified: {document['slug']} ({document['kind']}), "
             f"log key {receipt['log']['keyName']}"]
    for name in ("from", "to"):
        header, _, side = texts[name]
        lines.append(f"{name}: {side['hash']}  {header['created_at']}  {header['title']!r}")
        if side.get("redaction"):
            lines.append(f"  redacted {side['redaction']['at']}: {side['redaction']['reason']}")
        capture = side.get("capture")
        if capture:
            lines.append(f"  captured from {capture['finalUrl'] or capture['url']} at "
                         f"{capture['fetchedAt']} (HTTP {capture['status']}), "
                         f"WARC payload {capture['payloadDigest']}")
        seen = side.get("sightings")
        if seen:
            lines.append(f"  the page showed it from {seen['firstSeenAt']} to at least "
                         f"{seen['lastSeenAt']} ({seen['count']} captures)")
    if changes is None:
        lines.append("changes: not shown (a redacted text)")
    else:
        edits = [c for c in changes if c["op"] != "equal"]
        lines.append(f"changes: {len(edits)} runs of words")
        for change in edits[:20]:
            sign = "+" if change["op"] == "insert" else "-"
            lines.append(f"  {sign} {change['text'].strip()[:200]}")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path, key_text = argv[1], argv[2]
    try:
        key = verify_log.VerifierKey.parse(key_text)
        raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    except (verify_log.InputError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        receipt, texts, changes = verify(raw, key)
    except Failed as e:
        print(f"FAILED: {e}")
        return 1
    print(describe(receipt, texts, changes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
