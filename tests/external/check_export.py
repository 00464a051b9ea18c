#!/usr/bin/env python3
"""Parse an export of Palimpsest with an independent parser from its own ecosystem and print
what it read as JSON, so the Rust tests can check it.

    check_export.py bibtex|ris|csl-json|prov FILE

bibtex: bibtexparser 2; ris: rispy; csl-json: citeproc-py (renders a bibliography with its
bundled Cite Them Right Harvard style); prov: prov (the W3C PROV reference library for Python).
Exits non-zero with the parser's complaint if the file does not parse.
"""
import json
import sys


def bibtex(text):
    import bibtexparser

    library = bibtexparser.parse_string(text)
    if library.failed_blocks:
        raise SystemExit(f"bibtexparser failed on {len(library.failed_blocks)} block(s)")
    return [
        {"type": e.entry_type, "key": e.key, "fields": {f.key: f.value for f in e.fields}}
        for e in library.entries
    ]


def ris(text):
    import rispy

    return rispy.loads(text)


def csl_json(text):
    import os

    import citeproc
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    items = json.loads(text)
    source = CiteProcJSON(items)
    bundled = os.path.join(os.path.dirname(citeproc.__file__), "data", "styles", "harvard-cite-them-right.csl")
    style = CitationStylesStyle(bundled, validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    return {"ids": [item["id"] for item in items], "bibliography": [str(entry) for entry in bibliography.bibliography()]}


def prov(text):
    from prov.model import ProvDocument

    document = ProvDocument.deserialize(content=text, format="json")
    records = document.get_records()
    kinds = {}
    for record in records:
        name = type(record).__name__
        kinds[name] = kinds.get(name, 0) + 1
    derivation_types = sorted(
        str(value)
        for record in records
        if type(record).__name__ == "ProvDerivation"
        for key, value in record.attributes
        if str(key) == "prov:type"
    )
    return {"records": len(records), "kinds": kinds, "derivation_types": derivation_types}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("bibtex", "ris", "csl-json", "prov"):
        raise SystemExit(__doc__)
    with open(sys.argv[2], encoding="utf-8", newline="") as f:
        text = f.read()
    parse = {"bibtex": bibtex, "ris": ris, "csl-json": csl_json, "prov": prov}[sys.argv[1]]
    print(json.dumps(parse(text), default=str))


if __name__ == "__main__":
    main()
