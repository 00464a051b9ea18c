#!/usr/bin/env python3
"""Checks the relative links of the README and the guide (docs/, an mdBook).

    check_links.py [FILE.md ...]

Without arguments: README.md, docs/SUMMARY.md and every docs/*.md. Each relative link
(`[text](path)`, `[text](path#anchor)`, `[text](#anchor)`, and `[label]: path` definitions;
not inside code) must name a file of the checkout (nothing outside it), and each `#anchor` a
heading of the file it points into, as GitHub and mdBook make heading ids (lowercase; letters,
digits, `-` and `_` kept, spaces made `-`, everything else dropped; a repeated id gets `-1`,
`-2`, …). Every docs/*.md must be a chapter of docs/SUMMARY.md, and every chapter a file.
Links with a scheme (https:, mailto:) are not followed.

Prints each broken link with its file and line; exits 1 when there is one. mdBook itself is
not needed (`mdbook build docs` renders the same book, into target/book).
"""

import os
import re
import sys

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(
    r"(!?)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def outside_code(text):
    """(line number, line) of the lines outside fenced code, with inline code blanked."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if fenced or line.startswith("    ") and not line.strip().startswith(("-", "*", "|")):
            continue
        yield number, INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def slug(heading):
    """A heading's id, as GitHub and mdBook make it."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in "-_ ")
    return text.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    fenced = False
    for line in open(path, encoding="utf-8").read().splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else "%s-%d" % (base, count))
    return found


def links(path):
    text = open(path, encoding="utf-8").read()
    for number, line in outside_code(text):
        for match in INLINE_LINK.finditer(line):
            yield number, match.group(2)
        definition = DEFINITION.match(line)
        if definition:
            yield number, definition.group(1)


def chapters(checkout):
    summary = os.path.join(checkout, "docs", "SUMMARY.md")
    return [target for _, target in links(summary)]


def check(checkout, files=None):
    """The broken links of `files` (default: the README and the whole guide), as messages."""
    checkout = os.path.abspath(checkout)
    docs = os.path.join(checkout, "docs")
    guide = sorted(os.path.join(docs, name) for name in os.listdir(docs) if name.endswith(".md"))
    if files is None:
        files = [os.path.join(checkout, "README.md")] + guide
    files = [os.path.abspath(name) for name in files] + [os.path.join(docs, "SUMMARY.md")]
    files = list(dict.fromkeys(files))
    problems = []
    listed = set()
    for target in chapters(checkout):
        path = os.path.normpath(os.path.join(docs, target.split("#")[0]))
        listed.add(path)
    for path in guide:
        if path not in listed and os.path.basename(path) != "SUMMARY.md":
            problems.append("docs/SUMMARY.md: %s is not a chapter of the guide"
                            % os.path.relpath(path, checkout))
    for name in files:
        shown = os.path.relpath(name, checkout)
        for number, target in links(name):
            if SCHEME.match(target):
                continue
            where, _, anchor = target.partition("#")
            path = os.path.normpath(os.path.join(os.path.dirname(name), where)) if where else name
            if os.path.commonpath([path, checkout]) != checkout:
                problems.append("%s:%d: %s leads outside the repository" % (shown, number, target))
                continue
            if not os.path.exists(path):
                problems.append("%s:%d: %s: no such file" % (shown, number, target))
                continue
            if anchor and path.endswith(".md") and anchor not in anchors(path):
                problems.append("%s:%d: %s: %s has no heading #%s"
                                % (shown, number, target, os.path.relpath(path, checkout), anchor))
    return problems


def main():
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = [os.path.abspath(name) for name in sys.argv[1:]] or None
    problems = check(checkout, files)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("every relative link leads to a file and every anchor to a heading")


if __name__ == "__main__":
    main()
