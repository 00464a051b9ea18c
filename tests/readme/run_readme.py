#!/usr/bin/env python3
"""Runs the README's and the guide's examples, in order, against a fresh server, as a user would.

    run_readme.py PALIMPSEST_BINARY [FILE.md ...]

Every ```sh block is an example to run. Without FILE arguments the files are README.md and
then every chapter of the guide, in the order of docs/SUMMARY.md (the guide's chapters go on
from the README's tour: state such as `$TOKEN` or the documents created carries over), after
tests/readme/check_links.py has found every relative link of the README and the guide good.
The blocks run in order in one bash session (`set -euo pipefail`, so variables set by one
block are there for the next), in a new empty folder that holds copies of the checkout's
`docs/` and `examples/` (the examples run from the checkout, and some write there: `npm ci` in
examples/live makes node_modules; copies keep the checkout as it was, and leave out what
installs and builds left in it), with the binary's folder first on PATH and `PALIMPSEST` set
to the address of a server started there as the README says (`palimpsest serve`, on a free
port), on a new SQLite database with the built-in sample corpus.

A block fails when a command in it fails, when what it printed holds a GraphQL error
(`"errors":`) and the block does not expect one, or when it did not print what its `#> `
lines say: each `#> ` line is expected output, a `…` in it stands for text that varies (times,
hashes), and the parts between must appear in order, in what the block printed (spaces are
not compared). Blocks fenced ```console or ```text are shown, not run (installing, building,
starting a server).

Prints each block and what it printed; exits 1 at the first block that fails.
"""

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

FENCE = re.compile(r"^```sh\s*$(.*?)^```\s*$", re.M | re.S)
MARKER = "__PALIMPSEST_README_BLOCK_DONE__"


# What the examples' folders hold that is not the checkout's own: installs and builds (the
# .gitignore files of examples/ name them). They are not copied.
NOT_COPIED = shutil.ignore_patterns("node_modules", "dist", "gql", "__pycache__")
CHAPTER = re.compile(r"\]\(([^)#\s]+\.md)\)")


def blocks(readme):
    text = open(readme, encoding="utf-8").read()
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, match.group(1).strip("\n")))
    return found


def guide(checkout):
    """README.md, then the guide's chapters in the order of docs/SUMMARY.md."""
    docs = os.path.join(checkout, "docs")
    files = [os.path.join(checkout, "README.md")]
    for match in CHAPTER.finditer(open(os.path.join(docs, "SUMMARY.md"), encoding="utf-8").read()):
        path = os.path.normpath(os.path.join(docs, match.group(1)))
        if path not in files:
            files.append(path)
    return files


def expected(block):
    return [line[3:] for line in block.splitlines() if line.startswith("#> ")]


def squash(text):
    return re.sub(r"\s+", "", text)


def shows(output, expectation):
    """Whether `output` holds the parts of `expectation` between its `…`, in order."""
    at = 0
    flat = squash(output)
    for part in expectation.split("…"):
        part = squash(part)
        if not part:
            continue
        found = flat.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, server, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit("the server exited with %s before it was ready" % server.returncode)
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    sys.exit("the server was not ready within %d s" % seconds)


def main():
    binary = os.path.abspath(sys.argv[1])
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if len(sys.argv) > 2:
        files = [os.path.abspath(name) for name in sys.argv[2:]]
    else:
        files = guide(checkout)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        sys.dont_write_bytecode = True  # no __pycache__ left in the checkout
        import check_links

        broken = check_links.check(checkout)
        for problem in broken:
            print("✗ %s" % problem)
        if broken:
            sys.exit(1)
        print("✓ the links of the README and the guide lead somewhere")
    examples = []
    for name in files:
        shown = os.path.relpath(name, checkout)
        found = blocks(name)
        if not found and name == files[0]:
            sys.exit("no ```sh blocks in %s" % shown)
        examples += [(shown, line, block) for line, block in found]
    folder = tempfile.mkdtemp(prefix="palimpsest-readme-")
    for copied in ("docs", "examples"):
        shutil.copytree(os.path.join(checkout, copied), os.path.join(folder, copied),
                        symlinks=True, ignore=NOT_COPIED)
    bindir = os.path.join(folder, ".bin")
    os.mkdir(bindir)
    os.symlink(binary, os.path.join(bindir, "palimpsest"))
    port = free_port()
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("PALIMPSEST_") or name in ("DATABASE_URL", "TOKEN"):
            del env[name]
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PALIMPSEST"] = "http://127.0.0.1:%d" % port
    env["RUST_LOG"] = "warn"
    env["NO_COLOR"] = "1"
    server_log = open(os.path.join(folder, ".server.log"), "w")
    server = subprocess.Popen(
        ["palimpsest", "serve", "--bind", "127.0.0.1:%d" % port],
        cwd=folder, env=env, stdout=server_log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    shell = None
    try:
        wait_ready(env["PALIMPSEST"], server)
        shell = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=folder, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        shell.stdin.write("set -euo pipefail\n")
        # The shell's output is read on a thread, so that a block that hangs without printing
        # anything is still stopped at its deadline (a blocking readline would wait forever).
        lines = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(text) for text in iter(shell.stdout.readline, "")]
            + [lines.put("")],
            daemon=True,
        ).start()
        for number, (shown, line, block) in enumerate(examples, start=1):
            print("── %s line %d (example %d of %d)" % (shown, line, number, len(examples)))
            print(block)
            # The block runs in this shell; the marker says it finished, with its status.
            shell.stdin.write(block + "\n")
            shell.stdin.write("echo; echo %s $?\n" % MARKER)
            shell.stdin.flush()
            output, status = [], None
            deadline = time.time() + 120
            while True:
                try:
                    text = lines.get(timeout=max(0.0, deadline - time.time()))
                except queue.Empty:
                    status = "it ran longer than 120 s"
                    break
                if not text:
                    status = "the shell exited (a command failed under set -e)"
                    break
                if text.startswith(MARKER):
                    code = text.split()[-1]
                    status = None if code == "0" else "exit status %s" % code
                    break
                output.append(text)
            printed = "".join(output)
            print("·· printed:")
            print(printed.rstrip() or "(nothing)")
            failure = status
            wants_errors = any('"errors"' in e for e in expected(block))
            if failure is None and '"errors":' in printed and not wants_errors:
                failure = "it printed a GraphQL error it does not expect"
            for expectation in expected(block):
                if failure is None and not shows(printed, expectation):
                    failure = "it did not print: %s" % expectation
            if failure:
                print("✗ %s line %d: %s" % (shown, line, failure))
                print("·· server log (last lines):")
                server_log.flush()
                print("".join(open(os.path.join(folder, ".server.log")).readlines()[-20:]))
                sys.exit(1)
        print("✓ %d examples of %d files ran as they say" % (len(examples), len(files)))
    finally:
        for process in (shell, server):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
