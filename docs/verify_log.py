#!/usr/bin/env python3
"""Verify Palimpsest's transparency log from the outside.

    python3 docs/verify_log.py checkpoint NOTE_FILE VERIFIER_KEY [--origin ORIGIN]
    python3 docs/verify_log.py inclusion --hash REVHEX --index N --size N --root ROOTHEX PROOFHEX...
    python3 docs/verify_log.py inclusion --hash REVHEX --root ROOTHEX --proof-json FILE
    python3 docs/verify_log.py consistency --from M --to N --old-root HEX --new-root HEX PROOFHEX...
    python3 docs/verify_log.py selftest

Exit status: 0 when verified, 1 when not (the reason is printed), 2 on usage or input errors.
NOTE_FILE and --proof-json FILE may be "-" for standard input.

The log is the Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1, with
SHA-256, over revision hashes:

* leaf i is the i-th revision hash (32 bytes, written as 64 lowercase hex digits);
  its leaf hash is SHA-256(0x00 || revision hash)                    (RFC 9162 2.1.1)
* an interior node is SHA-256(0x01 || left || right)                 (RFC 9162 2.1.1)
* the tree hash MTH of n > 1 leaves splits them at k, the largest power of two smaller
  than n: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])); MTH of no leaves is
  SHA-256 of the empty string                                         (RFC 9162 2.1.1)
* an inclusion proof is the audit path PATH(m, D[n])                  (RFC 9162 2.1.3.1)
  and is checked with the algorithm of                                 RFC 9162 2.1.3.2
* a consistency proof is PROOF(m, D[n]) = SUBPROOF(m, D[n], true)     (RFC 9162 2.1.4.1)
  and is checked with the algorithm of                                 RFC 9162 2.1.4.2
  (for m == n the proof is empty and the two roots must be equal)

Tree heads are published as checkpoints (https://c2sp.org/tlog-checkpoint): the note text

    <origin>\\n<tree size in decimal>\\n<base64 of the 32-byte root hash>\\n[extension lines]

signed as a signed note (https://c2sp.org/signed-note): the text, a blank line, then lines

    \u2014 <key name> <base64(4-byte key ID || 64-byte Ed25519 signature over the text)>\\n

where key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]. The verifier
key is "<name>+<8 hex digits of the key ID>+<base64(0x01 || 32-byte public key)>", as in
golang.org/x/mod/sumdb/note. Only Ed25519 (signature type 0x01) is supported.

Note that an inclusion or consistency proof binds a tree size only together with its root:
always take the size and root from the same verified checkpoint.

Requires Python 3.8+ and, for signatures, the `cryptography` package
(`pip install cryptography`). Everything else is the standard library.
"""

import argparse
import base64
import binascii
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    HAVE_CRYPTOGRAPHY = True
except ImportError:  # the Merkle proofs need only hashlib
    HAVE_CRYPTOGRAPHY = False

HASH_SIZE = 32
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; c2sp.org/signed-note requires >= 16
EM_DASH_PREFIX = "\u2014 "
ALG_ED25519 = 0x01


class VerificationError(Exception):
    """The input is well formed but does not verify (exit status 1)."""


class InputError(Exception):
    """The input is malformed or unusable (exit status 2)."""


# --------------------------------------------------------------------------- encodings

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"[0-9]+")


def hex32(s, what="hash"):
    """Parse exactly 64 lowercase hex digits into 32 bytes."""
    if not isinstance(s, str) or not _HEX64.fullmatch(s):
        raise InputError(f"{what}: expected 64 lowercase hex digits, got {s!r}")
    return bytes.fromhex(s)


def b64decode_strict(s):
    """Standard base64 (RFC 4648 section 4) with padding, canonical encoding only."""
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"bad base64 {s!r}: {e}") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError(f"non-canonical base64 {s!r}")
    return raw


def sha256(data):
    return hashlib.sha256(data).digest()


# --------------------------------------------------------------------------- RFC 9162 2.1


def leaf_hash(revision_hash):
    """RFC 9162 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)); the entry is the raw revision hash."""
    if len(revision_hash) != HASH_SIZE:
        raise ValueError("a revision hash is 32 bytes")
    return sha256(b"\x00" + revision_hash)


def node_hash(left, right):
    """RFC 9162 2.1.1: HASH(0x01 || left || right)."""
    return sha256(b"\x01" + left + right)


def _split(n):
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_hash_of_leaf_hashes(leaf_hashes):
    """MTH (RFC 9162 2.1.1) over leaves that are already leaf hashes."""
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(tree_hash_of_leaf_hashes(leaf_hashes[:k]),
                     tree_hash_of_leaf_hashes(leaf_hashes[k:]))


def tree_hash(revision_hashes):
    """MTH over revision hashes (each is leaf-hashed first)."""
    return tree_hash_of_leaf_hashes([leaf_hash(r) for r in revision_hashes])


def root_from_inclusion_proof(leaf_index, tree_size, leaf_hash_, proof):
    """RFC 9162 2.1.3.2, steps 1-4; returns (r, sn) for step 5."""
    # 1. leaf_index >= tree_size fails.
    if leaf_index >= tree_size:
        raise VerificationError(f"leaf index {leaf_index} is not below tree size {tree_size}")
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash_
    # 4. For each p in the inclusion path:
    for p in proof:
        # a. sn == 0 fails (the path is too long).
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the path to the root")
        # b.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # ii. if LSB(fn) is not set, shift until LSB(fn) is set or fn is 0.
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # c.
        fn >>= 1
        sn >>= 1
    return r, sn


def verify_inclusion_of_leaf_hash(leaf_index, tree_size, leaf_hash_, proof, root):
    r, sn = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash_, proof)
    # 5. sn must be 0 and r must equal the root.
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise VerificationError(
            f"inclusion proof leads to root {r.hex()}, expected {root.hex()}")


def verify_inclusion(leaf_index, tree_size, revision_hash, proof, root):
    """Verify that revision_hash is leaf leaf_index of the tree of tree_size with root."""
    verify_inclusion_of_leaf_hash(leaf_index, tree_size, leaf_hash(revision_hash), proof, root)


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 2.1.4.2: the tree of size second extends the tree of size first."""
    if first == 0:
        raise VerificationError("consistency from an empty tree is not defined by the proof "
                                "format (0 < first is required)")
    if first > second:
        raise VerificationError(f"first size {first} is larger than second size {second}")
    if first == second:
        if proof:
            raise VerificationError("consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise VerificationError("equal tree sizes but different roots")
        return
    # 1. An empty path fails.
    if not proof:
        raise VerificationError("empty consistency proof between different sizes")
    path = list(proof)
    # 2. If first is an exact power of two, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3.
    fn, sn = first - 1, second - 1
    # 4. While LSB(fn) is set, shift fn and sn.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6. For each subsequent c:
    for c in path[1:]:
        # a.
        if sn == 0:
            raise VerificationError("consistency proof is longer than expected")
        # b.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        # c.
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise VerificationError("consistency proof is shorter than expected")
    if fr != first_root:
        raise VerificationError(
            f"consistency proof leads to old root {fr.hex()}, expected {first_root.hex()}")
    if sr != second_root:
        raise VerificationError(
            f"consistency proof leads to new root {sr.hex()}, expected {second_root.hex()}")


# Reference generators, straight from the recursive definitions; used by the self-test.

def reference_path(m, leaf_hashes):
    """PATH(m, D[n]) of RFC 9162 2.1.3.1."""
    n = len(leaf_hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return reference_path(m, leaf_hashes[:k]) + [tree_hash_of_leaf_hashes(leaf_hashes[k:])]
    return reference_path(m - k, leaf_hashes[k:]) + [tree_hash_of_leaf_hashes(leaf_hashes[:k])]


def _subproof(m, leaf_hashes, b):
    n = len(leaf_hashes)
    if m == n:
        return [] if b else [tree_hash_of_leaf_hashes(leaf_hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaf_hashes[:k], b) + [tree_hash_of_leaf_hashes(leaf_hashes[k:])]
    return _subproof(m - k, leaf_hashes[k:], False) + [tree_hash_of_leaf_hashes(leaf_hashes[:k])]


def reference_consistency(m, leaf_hashes):
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 2.1.4.1."""
    return _subproof(m, leaf_hashes, True)


# --------------------------------------------------------------------------- signed notes


def _is_valid_key_name(name):
    """c2sp.org/signed-note: non-empty, no Unicode spaces, no plus."""
    return name != "" and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name, public_key):
    """SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)[:4]


class VerifierKey:
    """A parsed verifier key "<name>+<key ID hex>+<base64(0x01 || public key)>"."""

    def __init__(self, name, kid, public_key):
        self.name = name
        self.key_id = kid
        self.public_key = public_key

    @classmethod
    def parse(cls, s):
        parts = s.split("+", 2)  # the base64 may itself contain '+'
        if len(parts) != 3:
            raise InputError(f"verifier key {s!r}: expected <name>+<key id>+<key>")
        name, kid_hex, key64 = parts
        if not _is_valid_key_name(name):
            raise InputError(f"verifier key: invalid key name {name!r}")
        if not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
            raise InputError(f"verifier key: key id {kid_hex!r} is not 8 lowercase hex digits")
        try:
            key = b64decode_strict(key64)
        except ValueError as e:
            raise InputError(f"verifier key: {e}") from None
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise InputError("verifier key: expected base64 of 0x01 || 32-byte Ed25519 key")
        public_key = key[1:]
        if key_id(name, public_key) != bytes.fromhex(kid_hex):
            raise InputError(f"verifier key: key id {kid_hex} does not match the key "
                             f"(expected {key_id(name, public_key).hex()})")
        return cls(name, bytes.fromhex(kid_hex), public_key)

    def __str__(self):
        return "%s+%s+%s" % (self.name, self.key_id.hex(), base64.b64encode(
            bytes([ALG_ED25519]) + self.public_key).decode("ascii"))

    def verify(self, message, signature):
        if not HAVE_CRYPTOGRAPHY:
            raise InputError("Ed25519 needs the 'cryptography' package: pip install cryptography")
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def open_note(signed_note, key):
    """Check a signed note (c2sp.org/signed-note) and return its text.

    Mirrors golang.org/x/mod/sumdb/note.Open for one known key: signatures from other keys
    (another name or another key ID) are ignored; every signature line from this key must
    verify, and at least one must be present.
    """
    if isinstance(signed_note, bytes):
        try:
            signed_note = signed_note.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError("malformed note: not UTF-8") from None
    for ch in signed_note:
        if ord(ch) < 0x20 and ch != "\n":
            raise VerificationError(f"malformed note: control character {ch!r}")
    split = signed_note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text, sigs = signed_note[:split + 1], signed_note[split + 2:]
    if not sigs or not sigs.endswith("\n"):
        raise VerificationError("malformed note: signature block must end with a newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError("malformed note: too many signatures")
    verified = 0
    message = text.encode("utf-8")
    for line in lines:
        if not line.startswith(EM_DASH_PREFIX):
            raise VerificationError(f"malformed note: bad signature line {line!r}")
        name, sep, sig64 = line[len(EM_DASH_PREFIX):].partition(" ")
        try:
            sig = b64decode_strict(sig64)
        except ValueError:
            sig = None
        if not sep or not sig64 or sig is None or not _is_valid_key_name(name) or len(sig) < 5:
            raise VerificationError(f"malformed note: bad signature line {line!r}")
        if name != key.name or sig[:4] != key.key_id:
            continue  # another key's signature: ignored, as the spec requires
        if not key.verify(message, sig[4:]):
            raise VerificationError(f"invalid signature for key {key.name}+{key.key_id.hex()}")
        verified += 1
    if verified == 0:
        raise VerificationError(f"no signature by {key.name}+{key.key_id.hex()}")
    return text


def parse_checkpoint(text):
    """The note text of c2sp.org/tlog-checkpoint: (origin, size, root, extension lines)."""
    if not text.endswith("\n"):
        raise VerificationError("malformed checkpoint: text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise VerificationError("malformed checkpoint: fewer than three lines")
    origin, size_line, root_line, extensions = lines[0], lines[1], lines[2], lines[3:]
    if origin == "":
        raise VerificationError("malformed checkpoint: empty origin")
    if not _DECIMAL.fullmatch(size_line) or (size_line != "0" and size_line[0] == "0"):
        raise VerificationError(f"malformed checkpoint: tree size {size_line!r}")
    size = int(size_line)
    if size >= 1 << 64:
        raise VerificationError(f"malformed checkpoint: tree size {size_line} is too large")
    try:
        root = b64decode_strict(root_line)
    except ValueError as e:
        raise VerificationError(f"malformed checkpoint: root hash: {e}") from None
    if len(root) != HASH_SIZE:
        raise VerificationError(f"malformed checkpoint: root hash is {len(root)} bytes, not 32")
    if any(line == "" for line in extensions):
        raise VerificationError("malformed checkpoint: empty extension line")
    return origin, size, root, extensions


def open_checkpoint(signed_note, key):
    return parse_checkpoint(open_note(signed_note, key))


def sign_note(text, name, private_key):
    """Sign text as a signed note (used by the self-test)."""
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = key_id(name, public_key) + private_key.sign(text.encode("utf-8"))
    return text + "\n" + EM_DASH_PREFIX + name + " " + base64.b64encode(sig).decode() + "\n"


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        raise InputError(message)


def _uint64(s):
    if not _DECIMAL.fullmatch(s) or int(s) >= 1 << 64:
        raise argparse.ArgumentTypeError(f"not a non-negative decimal 64-bit integer: {s!r}")
    return int(s)


def _read_input(path, binary):
    try:
        if path == "-":
            return sys.stdin.buffer.read() if binary else sys.stdin.read()
        with open(path, "rb" if binary else "r", **({} if binary else {"encoding": "utf-8"})) as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from None


def _cmd_checkpoint(args):
    key = VerifierKey.parse(args.verifier_key)
    origin, size, root, extensions = open_checkpoint(_read_input(args.note_file, True), key)
    if args.origin is not None and origin != args.origin:
        raise VerificationError(f"origin is {origin!r}, expected {args.origin!r}")
    print(f"origin: {origin}")
    print(f"size: {size}")
    print(f"root: {root.hex()}")
    for line in extensions:
        print(f"extension: {line}")
    if origin != key.name:
        print(f"note: the origin differs from the key name {key.name!r}", file=sys.stderr)
    print("checkpoint verified")


def _cmd_inclusion(args):
    revision = hex32(args.hash, "--hash")
    root = hex32(args.root, "--root")
    index, size = args.index, args.size
    if args.proof_json is not None:
        if args.proof:
            raise InputError("give proof hashes either as arguments or with --proof-json")
        try:
            doc = json.loads(_read_input(args.proof_json, False))
            j_index, j_size, hashes = doc["leafIndex"], doc["treeSize"], doc["hashes"]
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"--proof-json: expected {{\"leafIndex\", \"treeSize\", "
                             f"\"hashes\"}}: {e}") from None
        for field, value in (("leafIndex", j_index), ("treeSize", j_size)):
            if type(value) is not int or not 0 <= value < 1 << 64:
                raise InputError(f"--proof-json: {field} is not a 64-bit unsigned integer")
        if not isinstance(hashes, list):
            raise InputError("--proof-json: hashes is not a list")
        if index is not None and index != j_index:
            raise VerificationError(f"the proof is for leaf index {j_index}, not {index}")
        if size is not None and size != j_size:
            raise VerificationError(f"the proof is for tree size {j_size}, not {size}")
        index, size = j_index, j_size
    else:
        hashes = args.proof
        if index is None or size is None:
            raise InputError("--index and --size are required without --proof-json")
    proof = [hex32(h, f"proof hash {i}") for i, h in enumerate(hashes)]
    verify_inclusion(index, size, revision, proof, root)
    print(f"revision {revision.hex()} is leaf {index} of the tree of size {size} "
          f"with root {root.hex()}")
    print("inclusion verified")


def _cmd_consistency(args):
    old_root = hex32(args.old_root, "--old-root")
    new_root = hex32(args.new_root, "--new-root")
    proof = [hex32(h, f"proof hash {i}") for i, h in enumerate(args.proof)]
    verify_consistency(args.first, args.second, old_root, new_root, proof)
    print(f"the tree of size {args.second} with root {new_root.hex()} extends "
          f"the tree of size {args.first} with root {old_root.hex()}")
    print("consistency verified")


def _build_parser():
    p = _Parser(prog="verify_log.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("checkpoint", help="verify a signed checkpoint")
    c.add_argument("note_file", metavar="NOTE_FILE", help='the signed note ("-" for stdin)')
    c.add_argument("verifier_key", metavar="VERIFIER_KEY", help="<name>+<key id>+<key>")
    c.add_argument("--origin", help="also require this origin line")
    c.set_defaults(run=_cmd_checkpoint)

    i = sub.add_parser("inclusion", help="verify an inclusion proof (RFC 9162 2.1.3.2)")
    i.add_argument("--hash", required=True, metavar="REVHEX", help="the revision hash")
    i.add_argument("--index", type=_uint64, metavar="N", help="leaf index")
    i.add_argument("--size", type=_uint64, metavar="N", help="tree size")
    i.add_argument("--root", required=True, metavar="ROOTHEX", help="root hash of that size")
    i.add_argument("--proof-json", metavar="FILE",
                   help='{"leafIndex": .., "treeSize": .., "hashes": [..]} ("-" for stdin)')
    i.add_argument("proof", nargs="*", metavar="PROOFHEX", help="audit path, leaf to root")
    i.set_defaults(run=_cmd_inclusion)

    k = sub.add_parser("consistency", help="verify a consistency proof (RFC 9162 2.1.4.2)")
    k.add_argument("--from", dest="first", type=_uint64, required=True, metavar="M")
    k.add_argument("--to", dest="second", type=_uint64, required=True, metavar="N")
    k.add_argument("--old-root", required=True, metavar="HEX", help="root of size M")
    k.add_argument("--new-root", required=True, metavar="HEX", help="root of size N")
    k.add_argument("proof", nargs="*", metavar="PROOFHEX", help="consistency proof")
    k.set_defaults(run=_cmd_consistency)

    s = sub.add_parser("selftest", help="check this script against itself and test vectors")
    s.set_defaults(run=lambda _args: _selftest())
    return p


def main(argv=None):
    try:
        args = _build_parser().parse_args(argv)
        result = args.run(args)
        return 0 if result is None else result
    except VerificationError as e:
        print(f"NOT VERIFIED: {e}", file=sys.stderr)
        return 1
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------- self-test

# RFC 6962 test vectors (certificate-transparency / transparency-dev/merkle testonly): leaf
# data, roots of sizes 1..8, and proofs. These leaves are arbitrary byte strings, not
# revision hashes, so they exercise the leaf-hash level functions.
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (leaf index, tree size, path)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [  # (first, second, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

# The signed-note example of golang.org/x/mod/sumdb/note (a plain note, not a checkpoint).
GO_NOTE_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_NOTE_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n"
           "\n"
           "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
           "qfqdngotpRZb6KE6RyyBwJnAM=\n")
GO_NOTE_OTHER_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1a"
                     "GrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n")

# Synthetic revision hashes shared with tests/common/rfc9162.rs: SHA-256 of ASCII "rev-<i>".
SELFTEST_SEED = bytes(range(32))  # 00 01 02 .. 1f, the Ed25519 seed of the test key
SELFTEST_KEY_NAME = "example.com/palimpsest-test"


def synthetic_revision(i):
    return sha256(b"rev-%d" % i)


def _flip(h, byte=0, bit=0x01):
    return h[:byte] + bytes([h[byte] ^ bit]) + h[byte + 1:]


class _Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def ok(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)

    def verifies(self, fn, what):
        try:
            fn()
        except VerificationError as e:
            self.failed.append(f"{what}: {e}")
        else:
            self.passed += 1

    def rejects(self, fn, what, exc=VerificationError, reason=""):
        try:
            fn()
        except exc as e:
            if reason in str(e):
                self.passed += 1
            else:
                self.failed.append(f"{what}: rejected for {e!r}, expected {reason!r}")
        else:
            self.failed.append(f"{what}: accepted")


def _selftest_merkle(t, max_size=20):
    revisions = [synthetic_revision(i) for i in range(max_size + 1)]
    leaves = [leaf_hash(r) for r in revisions]
    roots = [tree_hash(revisions[:n]) for n in range(max_size + 2)]
    t.ok(roots[0] == sha256(b""), "MTH of the empty tree")
    t.ok(roots[1] == leaves[0], "MTH of one leaf is its leaf hash")

    for n in range(1, max_size + 1):
        for m in range(n):
            proof = reference_path(m, leaves[:n])
            rev = revisions[m]
            where = f"inclusion {m}/{n}"
            t.verifies(lambda: verify_inclusion(m, n, rev, proof, roots[n]), where)
            t.rejects(lambda: verify_inclusion(m, n, _flip(rev), proof, roots[n]),
                      where + " wrong revision")
            t.rejects(lambda: verify_inclusion(m, n, rev, proof, _flip(roots[n], 31, 0x80)),
                      where + " wrong root")
            for j in range(len(proof)):
                bad = proof[:j] + [_flip(proof[j], j % 32)] + proof[j + 1:]
                t.rejects(lambda: verify_inclusion(m, n, rev, bad, roots[n]),
                          f"{where} flipped proof[{j}]")
            if proof:
                t.rejects(lambda: verify_inclusion(m, n, rev, proof[:-1], roots[n]),
                          where + " truncated", reason="shorter")
            t.rejects(lambda: verify_inclusion(m, n, rev, proof + [roots[n]], roots[n]),
                      where + " extended", reason="longer")
            t.rejects(lambda: verify_inclusion(m, n, rev, [leaves[m]] + proof, roots[n]),
                      where + " prefixed")
            for m2 in range(n + 1):
                if m2 != m:
                    t.rejects(lambda: verify_inclusion(m2, n, rev, proof, roots[n]),
                              f"{where} claimed as index {m2}")
            for n2 in range(1, max_size + 1):
                if n2 != n:
                    # Another size with *its own* root must fail. (With the same root some
                    # other sizes compute the same hash: size is only bound via the root.)
                    t.rejects(lambda: verify_inclusion(m, n2, rev, proof, roots[n2]),
                              f"{where} claimed for size {n2}")
    t.rejects(lambda: verify_inclusion(0, 0, revisions[0], [], roots[0]), "inclusion in size 0")

    for n in range(1, max_size + 1):
        for m in range(1, n + 1):
            proof = reference_consistency(m, leaves[:n])
            where = f"consistency {m}->{n}"
            t.verifies(lambda: verify_consistency(m, n, roots[m], roots[n], proof), where)
            t.ok((m == n) == (proof == []), where + " empty exactly when m == n")
            t.rejects(lambda: verify_consistency(m, n, _flip(roots[m]), roots[n], proof),
                      where + " wrong old root")
            t.rejects(lambda: verify_consistency(m, n, roots[m], _flip(roots[n]), proof),
                      where + " wrong new root")
            for j in range(len(proof)):
                bad = proof[:j] + [_flip(proof[j], 5, 0x10)] + proof[j + 1:]
                t.rejects(lambda: verify_consistency(m, n, roots[m], roots[n], bad),
                          f"{where} flipped proof[{j}]")
            if proof:
                t.rejects(lambda: verify_consistency(m, n, roots[m], roots[n], proof[:-1]),
                          where + " truncated", reason="shorter" if len(proof) > 1 else "")
                t.rejects(lambda: verify_consistency(m, n, roots[n], roots[m], proof),
                          where + " swapped roots")
            t.rejects(lambda: verify_consistency(m, n, roots[m], roots[n], proof + [roots[m]]),
                      where + " extended", reason="longer" if m < n else "")
            t.rejects(lambda: verify_consistency(m, n, roots[m], roots[n], [roots[m]] + proof),
                      where + " prefixed")
            for m2 in range(1, n + 1):
                if m2 != m:
                    t.rejects(lambda: verify_consistency(m2, n, roots[m2], roots[n], proof),
                              f"{where} claimed from size {m2}")
            for n2 in range(m, max_size + 1):
                if n2 != n:
                    t.rejects(lambda: verify_consistency(m, n2, roots[m], roots[n2], proof),
                              f"{where} claimed to size {n2}")
    t.rejects(lambda: verify_consistency(0, 3, roots[0], roots[3], []), "consistency from 0")
    t.rejects(lambda: verify_consistency(0, 3, roots[0], roots[3], [roots[3]]),
              "consistency from 0 with a proof", reason="0 < first")
    t.rejects(lambda: verify_consistency(0, 0, roots[0], roots[0], []), "consistency 0 -> 0")
    t.rejects(lambda: verify_consistency(3, 2, roots[3], roots[2], []), "consistency backwards")


def _selftest_vectors(t):
    leaves = [sha256(b"\x00" + bytes.fromhex(d)) for d in CT_LEAVES]
    for n in range(1, 9):
        t.ok(tree_hash_of_leaf_hashes(leaves[:n]).hex() == CT_ROOTS[n - 1], f"CT root {n}")
    for m, n, proof in CT_INCLUSION:
        p = [bytes.fromhex(h) for h in proof]
        t.ok(reference_path(m, leaves[:n]) == p, f"CT PATH({m}, D[{n}])")
        t.verifies(lambda: verify_inclusion_of_leaf_hash(
            m, n, leaves[m], p, bytes.fromhex(CT_ROOTS[n - 1])), f"CT inclusion {m}/{n}")
    for m, n, proof in CT_CONSISTENCY:
        p = [bytes.fromhex(h) for h in proof]
        t.ok(reference_consistency(m, leaves[:n]) == p, f"CT PROOF({m}, D[{n}])")
        t.verifies(lambda: verify_consistency(
            m, n, bytes.fromhex(CT_ROOTS[m - 1]), bytes.fromhex(CT_ROOTS[n - 1]), p),
            f"CT consistency {m}->{n}")


def _selftest_notes(t):
    # The Go example: key ID derivation, verifier key format and a known signature.
    go_key = VerifierKey.parse(GO_NOTE_VERIFIER_KEY)
    t.ok(str(go_key) == GO_NOTE_VERIFIER_KEY, "verifier key round trip")
    t.ok(open_note(GO_NOTE, go_key) == GO_NOTE[:GO_NOTE.index("\n\n") + 1], "Go note opens")
    t.verifies(lambda: open_note(GO_NOTE + GO_NOTE_OTHER_SIG, go_key), "unknown signer ignored")
    t.rejects(lambda: open_note(GO_NOTE[:GO_NOTE.index("\n\n") + 1], go_key),
              "note without any signature block")
    t.rejects(lambda: open_note(GO_NOTE.replace("problem,", "problem;"), go_key),
              "Go note with a changed text")
    t.rejects(lambda: open_note(GO_NOTE.replace("\u2014 ", "- "), go_key), "hyphen, not em dash")
    t.rejects(lambda: open_checkpoint(GO_NOTE, go_key), "Go note is no checkpoint")
    seed = b64decode_strict(GO_NOTE_SIGNER_KEY.split("+", 4)[4])[1:]
    resigned = sign_note(GO_NOTE[:GO_NOTE.index("\n\n") + 1], "PeterNeumann",
                         Ed25519PrivateKey.from_private_bytes(seed))
    t.ok(resigned == GO_NOTE, "signing reproduces the Go note byte for byte")
    for bad in ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
                "PeterNeumann+c74f20a3+AhpcZQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+c74f20a3", ""]:
        t.rejects(lambda: VerifierKey.parse(bad), f"verifier key {bad!r}", InputError)

    # A checkpoint signed with a fixed key.
    priv = Ed25519PrivateKey.from_private_bytes(SELFTEST_SEED)
    pub = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = VerifierKey(SELFTEST_KEY_NAME, key_id(SELFTEST_KEY_NAME, pub), pub)
    t.ok(str(VerifierKey.parse(str(key))) == str(key), "fixed key round trip")
    revisions = [synthetic_revision(i) for i in range(5)]
    root = tree_hash(revisions)
    b64root = base64.b64encode(root).decode()
    text = f"{SELFTEST_KEY_NAME}\n5\n{b64root}\n"
    note = sign_note(text, SELFTEST_KEY_NAME, priv)
    t.ok(open_checkpoint(note, key) == (SELFTEST_KEY_NAME, 5, root, []), "checkpoint opens")
    ext = sign_note(text + "ext one\n", SELFTEST_KEY_NAME, priv)
    t.ok(open_checkpoint(ext, key)[3] == ["ext one"], "extension lines accepted")

    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    other_pub = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other_key = VerifierKey(SELFTEST_KEY_NAME, key_id(SELFTEST_KEY_NAME, other_pub), other_pub)
    t.rejects(lambda: open_checkpoint(note, other_key), "wrong key")
    renamed = VerifierKey("example.com/other", key_id("example.com/other", pub), pub)
    t.rejects(lambda: open_checkpoint(note, renamed), "wrong key name")
    forged_id = VerifierKey(SELFTEST_KEY_NAME, key.key_id, other_pub)
    t.rejects(lambda: open_checkpoint(note, forged_id), "right name and id, wrong public key")
    t.rejects(lambda: open_checkpoint(note.replace("\n5\n", "\n6\n"), key), "changed size")
    i = len(SELFTEST_KEY_NAME) + 3  # a byte inside the base64 root
    changed = note[:i] + ("A" if note[i] != "A" else "B") + note[i + 1:]
    t.rejects(lambda: open_checkpoint(changed, key), "changed root byte")
    t.rejects(lambda: open_checkpoint(text, key), "missing signature")
    t.rejects(lambda: open_checkpoint(text + "\n", key), "empty signature block")
    t.rejects(lambda: open_checkpoint(note[:-1], key), "signature line without newline")
    t.rejects(lambda: open_checkpoint(note + "trailing\n", key), "junk after signatures")
    t.rejects(lambda: open_checkpoint(note.replace("\n", "\r\n"), key), "CRLF line endings")
    sig_line = note[note.index("\n\n") + 2:]
    bad_sig = sig_line[:-5] + ("AAA=" if sig_line[-5:-2] != "AAA" else "BBA=") + "\n"
    t.rejects(lambda: open_checkpoint(text + "\n" + bad_sig, key), "corrupted signature",
              reason="invalid signature")
    t.rejects(lambda: open_checkpoint(note + bad_sig, key),
              "a good and a bad signature by the same key", reason="invalid signature")
    t.verifies(lambda: open_checkpoint(note + GO_NOTE_OTHER_SIG, key), "cosigned checkpoint")
    t.rejects(lambda: open_checkpoint(text + "\n" + sig_line * (MAX_SIGNATURES + 1), key),
              "too many signatures")

    def body(t_text, what, reason=""):
        t.rejects(lambda: open_checkpoint(sign_note(t_text, SELFTEST_KEY_NAME, priv), key), what,
                  reason=reason)

    body(f"{SELFTEST_KEY_NAME}\n5\n", "missing root line")
    body(f"{SELFTEST_KEY_NAME}\n", "missing size line")
    body(f"\n5\n{b64root}\n", "empty origin")
    body(f"{SELFTEST_KEY_NAME}\n05\n{b64root}\n", "size with a leading zero")
    body(f"{SELFTEST_KEY_NAME}\n+5\n{b64root}\n", "size with a sign")
    body(f"{SELFTEST_KEY_NAME}\n 5\n{b64root}\n", "size with a space")
    body(f"{SELFTEST_KEY_NAME}\n5x\n{b64root}\n", "non-decimal size")
    body(f"{SELFTEST_KEY_NAME}\n\n{b64root}\n", "empty size")
    body(f"{SELFTEST_KEY_NAME}\n18446744073709551616\n{b64root}\n", "size beyond 64 bits")
    body(f"{SELFTEST_KEY_NAME}\n5\n{base64.b64encode(root[:31]).decode()}\n", "31-byte root")
    body(f"{SELFTEST_KEY_NAME}\n5\n{base64.b64encode(root + b'x').decode()}\n", "33-byte root")
    body(f"{SELFTEST_KEY_NAME}\n5\n{b64root.rstrip('=')}\n", "unpadded root")
    body(f"{SELFTEST_KEY_NAME}\n5\n{root.hex()}\n", "hex root")
    body(f"{SELFTEST_KEY_NAME}\n5\n{b64root}\n\next\n", "empty extension line")
    body(f"{SELFTEST_KEY_NAME}\n5\n{b64root}\next\tone\n", "control character", "control")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    noncanonical = b64root[:42] + alphabet[alphabet.index(b64root[42]) ^ 1] + "="
    t.ok(base64.b64decode(noncanonical) == root, "the non-canonical root decodes leniently")
    body(f"{SELFTEST_KEY_NAME}\n5\n{noncanonical}\n", "non-canonical base64", "non-canonical")
    empty = sign_note(f"{SELFTEST_KEY_NAME}\n0\n{base64.b64encode(sha256(b'')).decode()}\n",
                      SELFTEST_KEY_NAME, priv)
    t.ok(open_checkpoint(empty, key)[1:3] == (0, sha256(b"")), "size 0 checkpoint")
    big = sign_note(f"{SELFTEST_KEY_NAME}\n18446744073709551615\n{b64root}\n",
                    SELFTEST_KEY_NAME, priv)
    t.ok(open_checkpoint(big, key)[1] == (1 << 64) - 1, "largest 64-bit size")
    return key, note


def _selftest_cli(t, key, note):
    """Run main() in-process on temporary files and check the exit statuses."""
    revisions = [synthetic_revision(i) for i in range(5)]
    leaves = [leaf_hash(r) for r in revisions]
    root = tree_hash(revisions)
    root3 = tree_hash(revisions[:3])
    path = [h.hex() for h in reference_path(3, leaves)]
    cons = [h.hex() for h in reference_consistency(3, leaves)]

    def run(argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse's --help
                code = e.code
        return code, out.getvalue()

    with tempfile.TemporaryDirectory() as d:
        note_file = os.path.join(d, "checkpoint")
        with open(note_file, "w", encoding="utf-8", newline="") as f:
            f.write(note)
        bad_note = os.path.join(d, "bad")
        with open(bad_note, "w", encoding="utf-8", newline="") as f:
            f.write(note.replace("\n5\n", "\n4\n"))
        good_json = os.path.join(d, "proof.json")
        with open(good_json, "w") as f:
            json.dump({"leafIndex": 3, "treeSize": 5, "hashes": path}, f)
        junk_json = os.path.join(d, "junk.json")
        with open(junk_json, "w") as f:
            f.write("{")

        code, out = run(["checkpoint", note_file, str(key)])
        t.ok(code == 0 and f"root: {root.hex()}" in out and "size: 5" in out, "cli checkpoint")
        t.ok(run(["checkpoint", note_file, str(key), "--origin", "x"])[0] == 1,
             "cli checkpoint wrong origin")
        t.ok(run(["checkpoint", bad_note, str(key)])[0] == 1, "cli checkpoint tampered")
        t.ok(run(["checkpoint", note_file, "nonsense"])[0] == 2, "cli checkpoint bad key")
        t.ok(run(["checkpoint", os.path.join(d, "missing"), str(key)])[0] == 2,
             "cli checkpoint missing file")

        base = ["inclusion", "--hash", revisions[3].hex(), "--root", root.hex()]
        t.ok(run(base + ["--index", "3", "--size", "5"] + path)[0] == 0, "cli inclusion")
        t.ok(run(base + ["--proof-json", good_json])[0] == 0, "cli inclusion json")
        t.ok(run(base + ["--proof-json", good_json, "--index", "3", "--size", "5"])[0] == 0,
             "cli inclusion json with matching index and size")
        t.ok(run(base + ["--proof-json", good_json, "--index", "2"])[0] == 1,
             "cli inclusion json with another index")
        t.ok(run(base + ["--index", "2", "--size", "5"] + path)[0] == 1, "cli inclusion wrong")
        t.ok(run(base + ["--index", "3", "--size", "5"] + path[:-1])[0] == 1,
             "cli inclusion short")
        t.ok(run(base + ["--index", "3", "--size", "5", path[0].upper()] + path[1:])[0] == 2,
             "cli inclusion uppercase hex")
        t.ok(run(base + ["--index", "3"] + path)[0] == 2, "cli inclusion no size")
        t.ok(run(base + ["--index", "-3", "--size", "5"] + path)[0] == 2,
             "cli inclusion negative index")
        t.ok(run(base + ["--proof-json", junk_json])[0] == 2, "cli inclusion bad json")
        t.ok(run(base + ["--proof-json", good_json, path[0]])[0] == 2, "cli inclusion both")

        cbase = ["consistency", "--old-root", root3.hex(), "--new-root", root.hex()]
        t.ok(run(cbase + ["--from", "3", "--to", "5"] + cons)[0] == 0, "cli consistency")
        t.ok(run(cbase + ["--from", "3", "--to", "5"] + cons[1:])[0] == 1,
             "cli consistency short")
        t.ok(run(cbase + ["--from", "2", "--to", "5"] + cons)[0] == 1, "cli consistency wrong")
        t.ok(run(cbase + ["--from", "3"] + cons)[0] == 2, "cli consistency no --to")
        t.ok(run(cbase + ["--from", "3", "--to", "5", "xyz"])[0] == 2, "cli consistency junk")
        t.ok(run([])[0] == 2, "cli no command")
        t.ok(run(["frobnicate"])[0] == 2, "cli unknown command")


def _selftest():
    t = _Checks()
    _selftest_merkle(t)
    _selftest_vectors(t)
    if HAVE_CRYPTOGRAPHY:
        key, note = _selftest_notes(t)
        _selftest_cli(t, key, note)
    else:
        print("cryptography is not installed: skipping the signed-note checks",
              file=sys.stderr)
    for failure in t.failed:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"selftest: {t.passed} checks passed, {len(t.failed)} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
