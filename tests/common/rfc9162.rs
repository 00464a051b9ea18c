//! An independent verifier for the transparency log, written from the specifications and not
//! from the server's code: the Merkle tree of RFC 9162 section 2.1 over revision hashes, and
//! checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed notes with Ed25519.
//! Test binaries share it through `#[path = "../common/rfc9162.rs"] mod rfc9162;`.
//!
//! * Leaf `i` is the `i`-th revision hash (32 bytes); its leaf hash is
//!   `SHA-256(0x00 || revision hash)`, an interior node is `SHA-256(0x01 || left || right)`,
//!   and the tree hash MTH splits `n > 1` leaves at the largest power of two `k < n`
//!   (RFC 9162 2.1.1). MTH of no leaves is SHA-256 of the empty string.
//! * An inclusion proof is the audit path `PATH(m, D[n])` (2.1.3.1), checked as in 2.1.3.2.
//! * A consistency proof is `PROOF(m, D[n])` (2.1.4.1), checked as in 2.1.4.2; for `m == n` it
//!   is empty and the roots must be equal.
//! * A checkpoint (<https://c2sp.org/tlog-checkpoint>) is the note text
//!   `"<origin>\n<decimal size>\n<base64 root>\n"` plus optional extension lines; a signed note
//!   (<https://c2sp.org/signed-note>) is the text, a blank line, and lines
//!   `"\u{2014} <key name> <base64(key ID || Ed25519 signature of the text)>\n"`, where
//!   key ID = `SHA-256(key name || 0x0A || 0x01 || public key)[:4]`. Verifier keys are
//!   `"<name>+<8 lowercase hex digits of the key ID>+<base64(0x01 || public key)>"`.
//!
//! Longer than our ~400 lines on purpose: half of it is its own tests, against the RFC's and
//! Go's published vectors, which keep it honest as an independent check.
//!
//! A proof binds a tree size only together with its root (different sizes can share the
//! same audit-path arithmetic), so take the size and the root from the same checkpoint.
#![allow(dead_code)]

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// A SHA-256 hash: a revision hash, a leaf or node hash, or a root.
pub type Hash = [u8; 32];

const LEAF_PREFIX: [u8; 1] = [0x00];
const NODE_PREFIX: [u8; 1] = [0x01];
/// The signed-note signature type of Ed25519.
const ALG_ED25519: u8 = 0x01;
/// As golang.org/x/mod/sumdb/note; c2sp.org/signed-note requires accepting at least 16.
pub const MAX_SIGNATURES: usize = 100;
const SIGNATURE_PREFIX: &str = "\u{2014} ";

// ------------------------------------------------------------------------------ the tree

/// `SHA-256(0x00 || revision hash)`: the leaf hash of a revision hash (RFC 9162 2.1.1).
pub fn leaf_hash(revision_hash: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(LEAF_PREFIX);
    hasher.update(revision_hash);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: an interior node (RFC 9162 2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(NODE_PREFIX);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two smaller than `n`, for `n > 1`.
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH (RFC 9162 2.1.1) of the tree whose leaves are these *revision hashes*: each is turned
/// into its leaf hash first. The empty tree's hash is SHA-256 of the empty string.
pub fn tree_hash(revision_hashes: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = revision_hashes.iter().map(leaf_hash).collect();
    tree_hash_of_leaf_hashes(&leaves)
}

/// MTH over leaves that are already leaf hashes; the straightforward recursive definition.
pub fn tree_hash_of_leaf_hashes(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaf_hashes[0],
        n => {
            let k = split_point(n);
            node_hash(
                &tree_hash_of_leaf_hashes(&leaf_hashes[..k]),
                &tree_hash_of_leaf_hashes(&leaf_hashes[k..]),
            )
        }
    }
}

/// Verifies that `revision_hash` is leaf `leaf_index` of the tree of `tree_size` leaves whose
/// root is `root`, given the audit path `proof` (leaf to root), per RFC 9162 2.1.3.2.
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    revision_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    verify_inclusion_of_leaf_hash(leaf_index, tree_size, &leaf_hash(revision_hash), proof, root)
}

/// [`verify_inclusion`] for a leaf given by its leaf hash.
pub fn verify_inclusion_of_leaf_hash(
    leaf_index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    // 1. leaf_index >= tree_size fails.
    if leaf_index >= tree_size {
        return Err(format!("leaf index {leaf_index} is not below tree size {tree_size}"));
    }
    // 2. fn = leaf_index, sn = tree_size - 1. 3. r = hash.
    let (mut f_n, mut s_n) = (leaf_index, tree_size - 1);
    let mut r = *leaf;
    // 4. For each p in the inclusion path:
    for p in proof {
        // a. sn == 0 fails.
        if s_n == 0 {
            return Err("inclusion proof is longer than the path to the root".to_owned());
        }
        // b. If LSB(fn) is set or fn == sn: r = HASH(0x01 || p || r), then, if LSB(fn) is
        //    not set, shift fn and sn until LSB(fn) is set or fn is 0.
        //    Otherwise: r = HASH(0x01 || r || p).
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        // c. Shift both once.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. sn must be 0 and r the root.
    if s_n != 0 {
        return Err("inclusion proof is shorter than the path to the root".to_owned());
    }
    if r != *root {
        return Err(format!(
            "inclusion proof leads to root {}, expected {}",
            hex::encode(r),
            hex::encode(root)
        ));
    }
    Ok(())
}

/// Verifies that the tree of `second` leaves with root `second_root` extends the tree of
/// `first` leaves with root `first_root`, per RFC 9162 2.1.4.2. Requires `0 < first <=
/// second`; for `first == second` the proof must be empty and the roots equal.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), String> {
    if first == 0 {
        return Err("consistency proofs need 0 < first (the empty tree has no proof)".to_owned());
    }
    if first > second {
        return Err(format!("first size {first} is larger than second size {second}"));
    }
    if first == second {
        if !proof.is_empty() {
            return Err("a consistency proof between equal sizes must be empty".to_owned());
        }
        if first_root != second_root {
            return Err("equal tree sizes but different roots".to_owned());
        }
        return Ok(());
    }
    // 1. An empty path fails.
    if proof.is_empty() {
        return Err("empty consistency proof between different sizes".to_owned());
    }
    // 2. If first is an exact power of two, prepend first_hash.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    // 3. fn = first - 1, sn = second - 1.
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    // 4. While LSB(fn) is set, shift both.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. fr = sr = the first value.
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6. For each subsequent value c:
    for c in &path[1..] {
        // a. sn == 0 fails.
        if s_n == 0 {
            return Err("consistency proof is longer than expected".to_owned());
        }
        // b. If LSB(fn) is set or fn == sn: fr = HASH(0x01 || c || fr),
        //    sr = HASH(0x01 || c || sr), then, if LSB(fn) is not set, shift fn and sn until
        //    LSB(fn) is set or fn is 0. Otherwise: sr = HASH(0x01 || sr || c).
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        // c. Shift both once.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7. fr must be first_hash, sr second_hash, and sn 0.
    if s_n != 0 {
        return Err("consistency proof is shorter than expected".to_owned());
    }
    if fr != *first_root {
        return Err(format!(
            "consistency proof leads to old root {}, expected {}",
            hex::encode(fr),
            hex::encode(first_root)
        ));
    }
    if sr != *second_root {
        return Err(format!(
            "consistency proof leads to new root {}, expected {}",
            hex::encode(sr),
            hex::encode(second_root)
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------ encodings

/// Exactly 64 lowercase hex digits, as the server writes hashes.
pub fn hex32(s: &str) -> Result<Hash, String> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("expected 64 lowercase hex digits, got {s:?}"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("{s:?}: {e}"))?;
    Ok(out)
}

/// [`hex32`] over a list, e.g. a proof's `hashes`.
pub fn hex32_all<S: AsRef<str>>(items: &[S]) -> Result<Vec<Hash>, String> {
    items.iter().map(|s| hex32(s.as_ref())).collect()
}

/// Standard base64 with padding, in its canonical encoding only.
fn base64_strict(s: &str) -> Result<Vec<u8>, String> {
    let raw = BASE64.decode(s).map_err(|e| format!("bad base64 {s:?}: {e}"))?;
    if BASE64.encode(&raw) != s {
        return Err(format!("non-canonical base64 {s:?}"));
    }
    Ok(raw)
}

// ------------------------------------------------------------------------------ notes

/// Key names are non-empty and contain neither Unicode spaces nor `+` (c2sp.org/signed-note).
fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// `SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALG_ED25519]);
    hasher.update(public_key);
    let digest: Hash = hasher.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// An Ed25519 note verifier key, `<name>+<key ID hex>+<base64(0x01 || public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub key_id: [u8; 4],
    pub key: VerifyingKey,
}

impl VerifierKey {
    /// Parses a verifier key, checking that the key ID is the one the name and key give.
    pub fn parse(s: &str) -> Result<Self, String> {
        // The base64 key may itself contain '+'; the name may not.
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("verifier key {s:?}: expected <name>+<key id>+<key>"));
        };
        if !is_valid_key_name(name) {
            return Err(format!("verifier key: invalid key name {name:?}"));
        }
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!("verifier key: key id {id_hex:?} is not 8 lowercase hex digits"));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id).map_err(|e| format!("verifier key: {e}"))?;
        let raw = base64_strict(key64).map_err(|e| format!("verifier key: {e}"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err("verifier key: expected base64 of 0x01 || 32-byte Ed25519 key".to_owned());
        }
        let public_key: [u8; 32] =
            raw[1..].try_into().map_err(|_| "verifier key: bad key length".to_owned())?;
        let expected = key_id(name, &public_key);
        if expected != id {
            return Err(format!(
                "verifier key: key id {id_hex} does not match the key (expected {})",
                hex::encode(expected)
            ));
        }
        let key = VerifyingKey::from_bytes(&public_key)
            .map_err(|e| format!("verifier key: not an Ed25519 public key: {e}"))?;
        Ok(Self { name: name.to_owned(), key_id: id, key })
    }

    /// The verifier key for `name` and an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, String> {
        if !is_valid_key_name(name) {
            return Err(format!("invalid key name {name:?}"));
        }
        Ok(Self { name: name.to_owned(), key_id: key_id(name, key.as_bytes()), key })
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(self.key_id), BASE64.encode(raw))
    }
}

/// Checks a signed note and returns its text (including its final newline), as
/// golang.org/x/mod/sumdb/note's `Open` does for one known key: signature lines of other
/// keys (another name or another key ID) are ignored, every line of this key must verify,
/// and there must be at least one. Malformed notes are rejected.
pub fn open_note<'a>(signed_note: &'a str, key: &VerifierKey) -> Result<&'a str, String> {
    if let Some(c) = signed_note.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(format!("malformed note: control character {c:?}"));
    }
    // The text ends at the last blank line; it keeps its final newline.
    let split =
        signed_note.rfind("\n\n").ok_or("malformed note: no blank line before the signatures")?;
    let (text, signatures) = (&signed_note[..=split], &signed_note[split + 2..]);
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err("malformed note: the signatures must end with a newline".to_owned());
    };
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(format!("malformed note: more than {MAX_SIGNATURES} signatures"));
    }
    let mut verified = 0usize;
    for line in lines {
        let malformed = || format!("malformed note: bad signature line {line:?}");
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(malformed)?;
        let (name, sig64) = rest.split_once(' ').unwrap_or((rest, ""));
        let signature = base64_strict(sig64)
            .ok()
            .filter(|sig| !sig64.is_empty() && sig.len() >= 5 && is_valid_key_name(name))
            .ok_or_else(malformed)?;
        if name != key.name || signature[..4] != key.key_id {
            continue; // another key's signature
        }
        let bytes: [u8; 64] = signature[4..].try_into().map_err(|_| {
            format!("invalid signature for key {key}: {} bytes, not 64", signature.len() - 4)
        })?;
        key.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|e| format!("invalid signature for key {key}: {e}"))?;
        verified += 1;
    }
    if verified == 0 {
        return Err(format!("no signature by {}+{}", key.name, hex::encode(key.key_id)));
    }
    Ok(text)
}

/// Signs `text` (which must end in a newline) as a signed note with one signature.
pub fn sign_note(text: &str, name: &str, signing_key: &SigningKey) -> String {
    let id = key_id(name, signing_key.verifying_key().as_bytes());
    let mut signature = id.to_vec();
    signature.extend_from_slice(&signing_key.sign(text.as_bytes()).to_bytes());
    format!("{text}\n{SIGNATURE_PREFIX}{name} {}\n", BASE64.encode(signature))
}

// ------------------------------------------------------------------------------ checkpoints

/// The three mandatory lines of a checkpoint (extension lines are checked, then dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Parses a checkpoint's note text (c2sp.org/tlog-checkpoint).
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, String> {
    let body =
        text.strip_suffix('\n').ok_or("malformed checkpoint: the text must end with a newline")?;
    let mut lines = body.split('\n');
    let (Some(origin), Some(size_line), Some(root_line)) =
        (lines.next(), lines.next(), lines.next())
    else {
        return Err("malformed checkpoint: fewer than three lines".to_owned());
    };
    if origin.is_empty() {
        return Err("malformed checkpoint: empty origin".to_owned());
    }
    let decimal = !size_line.is_empty()
        && size_line.bytes().all(|b| b.is_ascii_digit())
        && (size_line == "0" || !size_line.starts_with('0'));
    if !decimal {
        return Err(format!("malformed checkpoint: tree size {size_line:?}"));
    }
    let size: u64 = size_line
        .parse()
        .map_err(|_| format!("malformed checkpoint: tree size {size_line} is too large"))?;
    let raw = base64_strict(root_line).map_err(|e| format!("malformed checkpoint: root: {e}"))?;
    let root: Hash = raw
        .as_slice()
        .try_into()
        .map_err(|_| format!("malformed checkpoint: root hash is {} bytes, not 32", raw.len()))?;
    if lines.any(str::is_empty) {
        return Err("malformed checkpoint: empty extension line".to_owned());
    }
    Ok(Checkpoint { origin: origin.to_owned(), size, root })
}

/// Verifies a signed checkpoint with `key` and parses it.
pub fn open_checkpoint(signed_note: &str, key: &VerifierKey) -> Result<Checkpoint, String> {
    parse_checkpoint(open_note(signed_note, key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic revision hashes, shared with docs/verify_log.py: SHA-256 of ASCII "rev-<i>".
    fn rev(i: usize) -> Hash {
        Sha256::digest(format!("rev-{i}").as_bytes()).into()
    }

    fn revisions(n: usize) -> Vec<Hash> {
        (0..n).map(rev).collect()
    }

    fn flip(h: &Hash, byte: usize, bit: u8) -> Hash {
        let mut out = *h;
        out[byte] ^= bit;
        out
    }

    fn h(s: &str) -> Hash {
        hex32(s).unwrap()
    }

    /// `PATH(m, D[n])`, RFC 9162 2.1.3.1, over leaf hashes.
    fn reference_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return Vec::new();
        }
        let k = split_point(n);
        let mut path;
        if m < k {
            path = reference_path(m, &leaves[..k]);
            path.push(tree_hash_of_leaf_hashes(&leaves[k..]));
        } else {
            path = reference_path(m - k, &leaves[k..]);
            path.push(tree_hash_of_leaf_hashes(&leaves[..k]));
        }
        path
    }

    /// `SUBPROOF(m, D[n], b)`, RFC 9162 2.1.4.1, over leaf hashes.
    fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete { Vec::new() } else { vec![tree_hash_of_leaf_hashes(leaves)] };
        }
        let k = split_point(n);
        let mut proof;
        if m <= k {
            proof = subproof(m, &leaves[..k], complete);
            proof.push(tree_hash_of_leaf_hashes(&leaves[k..]));
        } else {
            proof = subproof(m - k, &leaves[k..], false);
            proof.push(tree_hash_of_leaf_hashes(&leaves[..k]));
        }
        proof
    }

    /// `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`.
    fn reference_consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        subproof(m, leaves, true)
    }

    const MAX: usize = 33;

    #[test]
    fn roots_match_the_python_verifier() {
        // Computed by docs/verify_log.py from the same synthetic revisions.
        assert_eq!(rev(0), h("31b3ff38b47eac7067421dfce35229117d9b3cacd2a5afc022afe9564b28e62e"));
        let revs = revisions(MAX);
        for (n, root) in [
            (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (1, "470132a1481e9ef3b5d65fbf864ae923cef9a485a588d9cb2be3f146671997df"),
            (2, "a19446e8b1ddb58200e73ae610d0a7c45dcc16d0f8889404dcfc5fde1cf99a21"),
            (3, "0550c6dfe283d62e0572c83d19d7bf143483cf4fa370a3898729695855777e53"),
            (7, "d801744539de06e989b620a259b924e247f8461f4063e68fc8671be50d6783aa"),
            (8, "5e1aaad69c7c13959446450d0e33a9b4bf8bc39452bcaeecdc05c1311c1991ae"),
            (33, "d48faa79e3760b0401abd79a973a4636d2cf11efe930f89a155594f90a29c02a"),
        ] {
            assert_eq!(tree_hash(&revs[..n]), h(root), "size {n}");
        }
        assert_eq!(tree_hash(&revs[..1]), leaf_hash(&revs[0]));
        let leaves: Vec<Hash> = revs[..13].iter().map(leaf_hash).collect();
        let path = hex32_all(&[
            "22fdc37a6be30992c25e695c14c012cf7a107f4cbfaa221a0c88e6cda76cf5ae",
            "b2607b8b1c45f4d6c4b7f458a19561f05453f74ee772891f611249885028d122",
            "7f2d1b2a95a36dbe51a5186c763e9c31829ff4f664d68bd88fa850ea9ef34c20",
            "5b9541fba3f43ddfde3e443d6956aefa837573ee2e0d1d02f181ef20ac873d06",
        ])
        .unwrap();
        assert_eq!(reference_path(5, &leaves), path);
        let consistency = hex32_all(&[
            "22fdc37a6be30992c25e695c14c012cf7a107f4cbfaa221a0c88e6cda76cf5ae",
            "51c84870ee1a7ef0d7c727ba2ed5d9c75d8ff403b080d60b626307325b5bac1e",
            "b2607b8b1c45f4d6c4b7f458a19561f05453f74ee772891f611249885028d122",
            "7f2d1b2a95a36dbe51a5186c763e9c31829ff4f664d68bd88fa850ea9ef34c20",
            "5b9541fba3f43ddfde3e443d6956aefa837573ee2e0d1d02f181ef20ac873d06",
        ])
        .unwrap();
        assert_eq!(reference_consistency(5, &leaves), consistency);
    }

    /// The RFC 6962 test vectors of certificate-transparency and transparency-dev/merkle:
    /// arbitrary leaf data, so they exercise the leaf-hash level.
    #[test]
    fn rfc6962_test_vectors() {
        let data = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ];
        let leaves: Vec<Hash> = data
            .iter()
            .map(|d| {
                let mut hasher = Sha256::new();
                hasher.update(LEAF_PREFIX);
                hasher.update(hex::decode(d).unwrap());
                hasher.finalize().into()
            })
            .collect();
        let roots = hex32_all(&[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ])
        .unwrap();
        for n in 1..=8 {
            assert_eq!(tree_hash_of_leaf_hashes(&leaves[..n]), roots[n - 1], "root {n}");
        }
        let inclusion: [(usize, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, path) in inclusion {
            let path = hex32_all(path).unwrap();
            assert_eq!(reference_path(m, &leaves[..n]), path, "PATH({m}, D[{n}])");
            verify_inclusion_of_leaf_hash(m as u64, n as u64, &leaves[m], &path, &roots[n - 1])
                .unwrap();
        }
        let consistency: [(usize, usize, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (m, n, proof) in consistency {
            let proof = hex32_all(proof).unwrap();
            assert_eq!(reference_consistency(m, &leaves[..n]), proof, "PROOF({m}, D[{n}])");
            verify_consistency(m as u64, n as u64, &roots[m - 1], &roots[n - 1], &proof).unwrap();
        }
    }

    #[test]
    fn inclusion_of_every_leaf_of_every_size() {
        let revs = revisions(MAX);
        let leaves: Vec<Hash> = revs.iter().map(leaf_hash).collect();
        let roots: Vec<Hash> = (0..=MAX).map(|n| tree_hash(&revs[..n])).collect();
        assert_eq!(roots[0], h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        for n in 1..=MAX {
            for m in 0..n {
                let proof = reference_path(m, &leaves[..n]);
                let (mi, ni) = (m as u64, n as u64);
                let what = format!("leaf {m} of {n}");
                verify_inclusion(mi, ni, &revs[m], &proof, &roots[n])
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(
                    verify_inclusion(mi, ni, &flip(&revs[m], 7, 1), &proof, &roots[n]).is_err()
                );
                assert!(
                    verify_inclusion(mi, ni, &revs[m], &proof, &flip(&roots[n], 31, 0x80)).is_err()
                );
                for j in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[j] = flip(&bad[j], j % 32, 1);
                    assert!(verify_inclusion(mi, ni, &revs[m], &bad, &roots[n]).is_err(), "{what}");
                }
                if !proof.is_empty() {
                    let e =
                        verify_inclusion(mi, ni, &revs[m], &proof[..proof.len() - 1], &roots[n]);
                    assert!(e.unwrap_err().contains("shorter"), "{what} truncated");
                }
                let mut longer = proof.clone();
                longer.push(roots[n]);
                let e = verify_inclusion(mi, ni, &revs[m], &longer, &roots[n]);
                assert!(e.unwrap_err().contains("longer"), "{what} extended");
                let mut prefixed = vec![leaves[m]];
                prefixed.extend_from_slice(&proof);
                assert!(verify_inclusion(mi, ni, &revs[m], &prefixed, &roots[n]).is_err());
                // Any other index fails, with the same revision or with that index's own.
                for m2 in (0..=n).filter(|&m2| m2 != m) {
                    let r2 = if m2 < n { revs[m2] } else { rev(m2) };
                    for r in [revs[m], r2] {
                        let e = verify_inclusion(m2 as u64, ni, &r, &proof, &roots[n]);
                        assert!(e.is_err(), "{what} claimed as index {m2}");
                    }
                }
                // Any other size, with that size's root, fails.
                for n2 in (1..=MAX).filter(|&n2| n2 != n) {
                    let e = verify_inclusion(mi, n2 as u64, &revs[m], &proof, &roots[n2]);
                    assert!(e.is_err(), "{what} claimed for size {n2}");
                }
            }
        }
        assert!(verify_inclusion(0, 0, &revs[0], &[], &roots[0]).is_err());
        assert!(verify_inclusion(1, 1, &revs[0], &[], &roots[1]).is_err());
        assert!(verify_inclusion(u64::MAX, u64::MAX, &revs[0], &[], &roots[1]).is_err());
    }

    /// Documents a property of RFC 9162 proofs, not a bug: with the *same* root, the audit
    /// path of leaf 0 in a tree of 3 also "verifies" for size 4, because both sizes do the
    /// same hashing. The size is authenticated only by the checkpoint that pairs it with the
    /// root, so callers must take both from one verified checkpoint.
    #[test]
    fn tree_size_is_bound_only_through_the_root() {
        let revs = revisions(4);
        let leaves: Vec<Hash> = revs.iter().map(leaf_hash).collect();
        let proof = reference_path(0, &leaves[..3]);
        let root3 = tree_hash(&revs[..3]);
        verify_inclusion(0, 3, &revs[0], &proof, &root3).unwrap();
        verify_inclusion(0, 4, &revs[0], &proof, &root3).unwrap();
        assert!(verify_inclusion(0, 4, &revs[0], &proof, &tree_hash(&revs)).is_err());
    }

    #[test]
    fn consistency_of_every_pair_of_sizes() {
        let revs = revisions(MAX);
        let leaves: Vec<Hash> = revs.iter().map(leaf_hash).collect();
        let roots: Vec<Hash> = (0..=MAX).map(|n| tree_hash(&revs[..n])).collect();
        for n in 1..=MAX {
            for m in 1..=n {
                let proof = reference_consistency(m, &leaves[..n]);
                let (mi, ni) = (m as u64, n as u64);
                let what = format!("{m} -> {n}");
                assert_eq!(proof.is_empty(), m == n, "{what}");
                verify_consistency(mi, ni, &roots[m], &roots[n], &proof)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(
                    verify_consistency(mi, ni, &flip(&roots[m], 0, 1), &roots[n], &proof).is_err()
                );
                assert!(
                    verify_consistency(mi, ni, &roots[m], &flip(&roots[n], 0, 1), &proof).is_err()
                );
                for j in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[j] = flip(&bad[j], 5, 0x10);
                    let e = verify_consistency(mi, ni, &roots[m], &roots[n], &bad);
                    assert!(e.is_err(), "{what} with proof[{j}] flipped");
                }
                if proof.len() > 1 {
                    let e =
                        verify_consistency(mi, ni, &roots[m], &roots[n], &proof[..proof.len() - 1]);
                    assert!(e.unwrap_err().contains("shorter"), "{what} truncated");
                }
                if !proof.is_empty() {
                    assert!(verify_consistency(mi, ni, &roots[m], &roots[n], &[]).is_err());
                    let e = verify_consistency(mi, ni, &roots[n], &roots[m], &proof);
                    assert!(e.is_err(), "{what} with swapped roots");
                }
                let mut longer = proof.clone();
                longer.push(roots[m]);
                let e = verify_consistency(mi, ni, &roots[m], &roots[n], &longer);
                if m < n {
                    assert!(e.unwrap_err().contains("longer"), "{what} extended");
                } else {
                    assert!(e.is_err(), "{what} extended");
                }
                let mut prefixed = vec![roots[m]];
                prefixed.extend_from_slice(&proof);
                assert!(verify_consistency(mi, ni, &roots[m], &roots[n], &prefixed).is_err());
                // Any other first size, with its own root, fails; so does any other second.
                for m2 in (1..=n).filter(|&m2| m2 != m) {
                    let e = verify_consistency(m2 as u64, ni, &roots[m2], &roots[n], &proof);
                    assert!(e.is_err(), "{what} claimed from {m2}");
                }
                for n2 in (m..=MAX).filter(|&n2| n2 != n) {
                    let e = verify_consistency(mi, n2 as u64, &roots[m], &roots[n2], &proof);
                    assert!(e.is_err(), "{what} claimed to {n2}");
                }
            }
        }
        let e = verify_consistency(0, 3, &roots[0], &roots[3], &[roots[3]]);
        assert!(e.unwrap_err().contains("0 < first"));
        assert!(verify_consistency(0, 0, &roots[0], &roots[0], &[]).is_err());
        assert!(verify_consistency(3, 2, &roots[3], &roots[2], &[]).is_err());
        assert!(verify_consistency(2, 2, &roots[2], &roots[2], &[roots[2]]).is_err());
        assert!(verify_consistency(2, 2, &roots[2], &roots[3], &[]).is_err());
    }

    #[test]
    fn hex32_is_strict() {
        let good = "00ff".repeat(16);
        assert_eq!(hex32(&good).unwrap()[1], 0xff);
        for bad in [
            good.to_uppercase(),
            good[1..].to_owned(),
            format!("{good}0"),
            format!("0x{}", &good[2..]),
            format!("{}g", &good[1..]),
            format!(" {}", &good[1..]),
            String::new(),
        ] {
            assert!(hex32(&bad).is_err(), "{bad:?}");
        }
        assert!(hex32_all(&[good.as_str(), "00"]).is_err());
    }

    // The signed-note example of golang.org/x/mod/sumdb/note.
    const GO_SIGNER_KEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VERIFIER_KEY: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI\
                                nNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_OTHER_SIGNATURE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtC\
                                      OXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn go_note_known_answer() {
        let key = VerifierKey::parse(GO_VERIFIER_KEY).unwrap();
        assert_eq!(key.key_id, [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(key.to_string(), GO_VERIFIER_KEY);
        let note = format!("{GO_TEXT}\n{GO_SIGNATURE}");
        assert_eq!(open_note(&note, &key).unwrap(), GO_TEXT);
        let cosigned = format!("{note}{GO_OTHER_SIGNATURE}");
        assert_eq!(open_note(&cosigned, &key).unwrap(), GO_TEXT);
        let only_other = format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}");
        assert!(open_note(&only_other, &key).unwrap_err().contains("no signature"));
        assert!(open_note(&note.replace("problem,", "problem;"), &key).is_err());
        assert!(open_note(&note.replace('\u{2014}', "-"), &key).is_err());
        assert!(open_checkpoint(&note, &key).is_err(), "not a checkpoint");

        // Ed25519 is deterministic: the seed in the signer key reproduces the note exactly.
        let raw = BASE64.decode(GO_SIGNER_KEY.splitn(5, '+').nth(4).unwrap()).unwrap();
        let seed: [u8; 32] = raw[1..].try_into().unwrap();
        let signing_key = SigningKey::from_bytes(&seed);
        assert_eq!(sign_note(GO_TEXT, "PeterNeumann", &signing_key), note);
        assert_eq!(VerifierKey::new("PeterNeumann", signing_key.verifying_key()).unwrap(), key);
    }

    #[test]
    fn verifier_keys_reject_manglings() {
        // As golang.org/x/mod/sumdb/note's TestNewVerifier: every proper substring and every
        // single-byte increment fails.
        let b = GO_VERIFIER_KEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    assert!(VerifierKey::parse(&GO_VERIFIER_KEY[i..j]).is_err(), "{i}..{j}");
                }
            }
        }
        for i in 0..b.len() {
            let mut mangled = b.to_vec();
            mangled[i] += 1;
            let mangled = String::from_utf8(mangled).unwrap();
            assert!(VerifierKey::parse(&mangled).is_err(), "{mangled}");
        }
        for bad in [
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
        assert!(VerifierKey::new("a+b", VerifierKey::parse(GO_VERIFIER_KEY).unwrap().key).is_err());
    }

    const NAME: &str = "example.com/palimpsest-test";

    fn test_signing_key() -> SigningKey {
        SigningKey::from_bytes(&std::array::from_fn(|i| i as u8)) // 00 01 .. 1f
    }

    fn checkpoint_text(size: u64, root: &Hash) -> String {
        format!("{NAME}\n{size}\n{}\n", BASE64.encode(root))
    }

    #[test]
    fn checkpoint_round_trip() {
        let signing_key = test_signing_key();
        let key = VerifierKey::new(NAME, signing_key.verifying_key()).unwrap();
        // Both computed by docs/verify_log.py with the same seed.
        assert_eq!(
            key.to_string(),
            "example.com/palimpsest-test+862930a1+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        );
        assert_eq!(VerifierKey::parse(&key.to_string()).unwrap(), key);
        let root = tree_hash(&revisions(7));
        let note = sign_note(&checkpoint_text(7, &root), NAME, &signing_key);
        assert_eq!(
            note,
            "example.com/palimpsest-test\n7\n2AF0RTneBumJtiCiWbkk4kf4Rh9AY+aPyGcb5Q1ng6o=\n\n\
             \u{2014} example.com/palimpsest-test hikwoQjPE7TFSMlfT/NPib54RRgM2RjdnSplpHbHEw4jg7n\
             z2yfO3yAUcQZxhFQYTB/px7l/2yzrvOZcA88kppMDhwQ=\n"
        );
        let checkpoint = open_checkpoint(&note, &key).unwrap();
        assert_eq!(checkpoint, Checkpoint { origin: NAME.to_owned(), size: 7, root });

        let text = format!("{}extension one\nextension two\n", checkpoint_text(7, &root));
        let extended = sign_note(&text, NAME, &signing_key);
        assert_eq!(open_checkpoint(&extended, &key).unwrap(), checkpoint);
        let cosigned = format!("{note}{GO_OTHER_SIGNATURE}");
        assert_eq!(open_checkpoint(&cosigned, &key).unwrap(), checkpoint);

        let empty_root = tree_hash(&[]);
        let empty = sign_note(&checkpoint_text(0, &empty_root), NAME, &signing_key);
        assert_eq!(open_checkpoint(&empty, &key).unwrap().size, 0);
        let largest = sign_note(&checkpoint_text(u64::MAX, &root), NAME, &signing_key);
        assert_eq!(open_checkpoint(&largest, &key).unwrap().size, u64::MAX);
    }

    #[test]
    fn checkpoint_rejections() {
        let signing_key = test_signing_key();
        let key = VerifierKey::new(NAME, signing_key.verifying_key()).unwrap();
        let root = tree_hash(&revisions(5));
        let text = checkpoint_text(5, &root);
        let note = sign_note(&text, NAME, &signing_key);
        open_checkpoint(&note, &key).unwrap();

        let other = SigningKey::from_bytes(&[0u8; 32]).verifying_key();
        let wrong_key = VerifierKey::new(NAME, other).unwrap();
        assert!(open_checkpoint(&note, &wrong_key).unwrap_err().contains("no signature"));
        let renamed = VerifierKey::new("example.com/other", signing_key.verifying_key()).unwrap();
        assert!(open_checkpoint(&note, &renamed).is_err());
        // The right name and key ID but another public key: the signature must not verify.
        let impostor = VerifierKey { name: NAME.to_owned(), key_id: key.key_id, key: other };
        assert!(open_checkpoint(&note, &impostor).unwrap_err().contains("invalid signature"));

        let rejected = |signed: &str, why: &str| {
            assert!(open_checkpoint(signed, &key).is_err(), "accepted: {why}: {signed:?}");
        };
        rejected(&note.replace("\n5\n", "\n6\n"), "changed size");
        let mut changed = note.clone().into_bytes();
        let at = NAME.len() + 3; // the first base64 character of the root
        changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
        rejected(&String::from_utf8(changed).unwrap(), "changed root byte");
        rejected(&text, "no signature block");
        rejected(&format!("{text}\n"), "empty signature block");
        rejected(&note[..note.len() - 1], "no final newline");
        rejected(&format!("{note}trailing\n"), "junk after the signatures");
        rejected(&note.replace('\n', "\r\n"), "CRLF");
        let signature_line = &note[text.len() + 1..];
        let corrupted = format!(
            "{}{}=\n",
            &signature_line[..signature_line.len() - 5],
            if signature_line.ends_with("AAA=\n") { "BBA" } else { "AAA" }
        );
        assert!(
            open_checkpoint(&format!("{text}\n{corrupted}"), &key)
                .unwrap_err()
                .contains("invalid signature")
        );
        rejected(&format!("{note}{corrupted}"), "a good and a bad signature by the same key");
        rejected(&format!("{text}\n{}", signature_line.repeat(MAX_SIGNATURES + 1)), "too many");

        let b64 = BASE64.encode(root);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = alphabet.find(b64.as_bytes()[42] as char).unwrap();
        let noncanonical = format!("{}{}=", &b64[..42], alphabet.as_bytes()[last ^ 1] as char);
        assert!(BASE64.decode(&noncanonical).is_err(), "the engine is strict too");
        let bodies = [
            (format!("{NAME}\n5\n"), "missing root line"),
            (format!("{NAME}\n"), "missing size line"),
            (format!("\n5\n{b64}\n"), "empty origin"),
            (format!("{NAME}\n05\n{b64}\n"), "leading zero"),
            (format!("{NAME}\n00\n{b64}\n"), "two zeros"),
            (format!("{NAME}\n+5\n{b64}\n"), "signed size"),
            (format!("{NAME}\n 5\n{b64}\n"), "space in size"),
            (format!("{NAME}\n5x\n{b64}\n"), "non-decimal size"),
            (format!("{NAME}\n\n{b64}\n"), "empty size"),
            (format!("{NAME}\n18446744073709551616\n{b64}\n"), "size beyond 64 bits"),
            (format!("{NAME}\n5\n{}\n", BASE64.encode(&root[..31])), "31-byte root"),
            (
                format!("{NAME}\n5\n{}\n", BASE64.encode([root.as_slice(), b"x"].concat())),
                "33-byte root",
            ),
            (format!("{NAME}\n5\n{}\n", b64.trim_end_matches('=')), "unpadded root"),
            (format!("{NAME}\n5\n{}\n", hex::encode(root)), "hex root"),
            (format!("{NAME}\n5\n{noncanonical}\n"), "non-canonical base64"),
            (format!("{NAME}\n5\n{b64}\n\nextension\n"), "empty extension line"),
            (format!("{NAME}\n5\n{b64}\nextension\tline\n"), "control character"),
        ];
        for (body, why) in bodies {
            rejected(&sign_note(&body, NAME, &signing_key), why);
        }
    }
}
