//! The outsider's view of the transparency log, checked with published crates that share no
//! code with the server: `ct-merkle` (RFC 6962/9162 Merkle trees: tree hashes, inclusion and
//! consistency proofs) and `signed_note` (Cloudflare's port of Go's
//! golang.org/x/mod/sumdb/note: C2SP signed notes with Ed25519). Only the checkpoint body
//! (c2sp.org/tlog-checkpoint: origin, decimal size, base64 root, extension lines) is parsed
//! here. Test binaries share it through `#[path = "../common/rfc9162.rs"] mod rfc9162;`.
//!
//! Leaf `i` is the `i`-th revision hash (32 bytes), hashed as `SHA-256(0x00 || revision hash)`.
//! A proof binds a tree size only together with its root (different sizes can share the same
//! audit-path arithmetic), so take the size and the root from the same checkpoint.
//!
//! Over 400 lines only by its own tests: two thirds of it are the published vectors (RFC 6962,
//! Go's signed note, docs/verify_log.py's) that tie the crates to our log's format.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, HashableLeaf, InclusionProof, RootHash};
use sha2::Sha256;
use signed_note::{Note, StandardVerifier, Verifier as _, VerifierList};

/// A SHA-256 hash: a revision hash, a node hash, or a root.
pub type Hash = [u8; 32];

fn root_of(size: u64, root: &Hash) -> RootHash<Sha256> {
    RootHash::new((*root).into(), size)
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// The tree hash (MTH, RFC 9162 2.1.1) of leaves in this order.
fn tree_hash_of<T: HashableLeaf + Clone>(leaves: &[T]) -> Hash {
    let mut tree = MemoryBackedTree::<Sha256, T>::new();
    for leaf in leaves {
        tree.push(leaf.clone());
    }
    (*tree.root().as_bytes()).into()
}

/// The tree hash of a log whose leaves are these revision hashes.
pub fn tree_hash(revision_hashes: &[Hash]) -> Hash {
    tree_hash_of(revision_hashes)
}

fn check_inclusion<T: HashableLeaf>(
    index: u64,
    size: u64,
    leaf: &T,
    path: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    let proof = InclusionProof::<Sha256>::try_from_bytes(concat(path))
        .map_err(|e| format!("inclusion proof: {e:?}"))?;
    root_of(size, root)
        .verify_inclusion(leaf, index, &proof)
        .map_err(|e| format!("leaf {index} is not in the tree of {size}: {e:?}"))
}

/// Checks that `revision_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    revision_hash: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    check_inclusion(index, size, revision_hash, path, root)
}

/// Checks that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), String> {
    let proof = ConsistencyProof::<Sha256>::try_from_bytes(concat(proof))
        .map_err(|e| format!("consistency proof: {e:?}"))?;
    root_of(new_size, new_root)
        .verify_consistency(&root_of(old_size, old_root), &proof)
        .map_err(|e| format!("the tree of {old_size} is not a prefix of {new_size}: {e:?}"))
}

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

/// An operator's published Ed25519 verifier key, `<name>+<key ID hex>+<base64(0x01 || key)>`.
pub struct VerifierKey {
    pub name: String,
    verifier: StandardVerifier,
}

impl VerifierKey {
    pub fn parse(s: &str) -> Result<Self, String> {
        let verifier = StandardVerifier::new(s).map_err(|e| format!("verifier key {s:?}: {e}"))?;
        Ok(Self { name: verifier.name().to_owned(), verifier })
    }

    pub fn key_id(&self) -> u32 {
        self.verifier.key_id()
    }
}

/// Checks a signed note as Go's `note.Open` does for one known key and returns its text
/// (with its final newline).
pub fn open_note(signed_note: &str, key: &VerifierKey) -> Result<String, String> {
    let note = Note::from_bytes(signed_note.as_bytes()).map_err(|e| format!("note: {e}"))?;
    let known = VerifierList::new(vec![Box::new(key.verifier.clone())]);
    note.verify(&known).map_err(|e| format!("note: {e}"))?;
    String::from_utf8(note.text().to_vec()).map_err(|e| format!("note: {e}"))
}

/// A checkpoint's three mandatory lines (extension lines are checked, then dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Parses a checkpoint's note text (c2sp.org/tlog-checkpoint).
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, String> {
    let body = text.strip_suffix('\n').ok_or("checkpoint: the text must end with a newline")?;
    let mut lines = body.split('\n');
    let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
        return Err("checkpoint: fewer than three lines".to_owned());
    };
    if origin.is_empty() {
        return Err("checkpoint: empty origin".to_owned());
    }
    let decimal = !size.is_empty()
        && size.bytes().all(|b| b.is_ascii_digit())
        && (size == "0" || !size.starts_with('0'));
    let size: u64 = decimal
        .then(|| size.parse().ok())
        .flatten()
        .ok_or_else(|| format!("checkpoint: tree size {size:?}"))?;
    let raw = BASE64.decode(root).map_err(|e| format!("checkpoint: root {root:?}: {e}"))?;
    if BASE64.encode(&raw) != root {
        return Err(format!("checkpoint: non-canonical base64 root {root:?}"));
    }
    let root: Hash = raw.as_slice().try_into().map_err(|_| "checkpoint: root is not 32 bytes")?;
    if lines.any(str::is_empty) {
        return Err("checkpoint: empty extension line".to_owned());
    }
    Ok(Checkpoint { origin: origin.to_owned(), size, root })
}

/// Verifies a signed checkpoint with the operator's key and parses it. Its origin must be the
/// key's name: a log's checkpoint is signed by the key named after it.
pub fn open_checkpoint(signed_note: &str, key: &VerifierKey) -> Result<Checkpoint, String> {
    let checkpoint = parse_checkpoint(&open_note(signed_note, key)?)?;
    if checkpoint.origin != key.name {
        return Err(format!("checkpoint of {:?} signed by {:?}", checkpoint.origin, key.name));
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use sha2::Digest;
    use signed_note::StandardSigner;

    use super::*;

    /// Synthetic revision hashes, shared with docs/verify_log.py: SHA-256 of ASCII "rev-<i>".
    fn revisions(n: usize) -> Vec<Hash> {
        (0..n).map(|i| Sha256::digest(format!("rev-{i}").as_bytes()).into()).collect()
    }

    fn h(s: &str) -> Hash {
        hex32(s).unwrap()
    }

    fn flip(hash: &Hash) -> Hash {
        let mut out = *hash;
        out[7] ^= 0x10;
        out
    }

    /// Our server's leaf format and tree shape, as docs/verify_log.py computes them.
    #[test]
    fn roots_match_the_python_verifier() {
        let revs = revisions(33);
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
    }

    /// The RFC 6962 vectors of certificate-transparency and transparency-dev/merkle, through
    /// the same calls the tests make.
    #[test]
    fn rfc6962_test_vectors() {
        let data: Vec<Vec<u8>> = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
            .iter()
            .chain(&["606162636465666768696a6b6c6d6e6f"])
            .map(|d| hex::decode(d).unwrap())
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
            assert_eq!(tree_hash_of(&data[..n]), roots[n - 1], "root {n}");
        }
        let path = hex32_all(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        .unwrap();
        check_inclusion(5, 8, &data[5], &path, &roots[7]).unwrap();
        assert!(check_inclusion(4, 8, &data[5], &path, &roots[7]).is_err());
        assert!(check_inclusion(5, 8, &data[5], &path[..2], &roots[7]).is_err());
        let proof = hex32_all(&[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        .unwrap();
        verify_consistency(6, 8, &roots[5], &roots[7], &proof).unwrap();
        assert!(verify_consistency(6, 8, &roots[4], &roots[7], &proof).is_err());
        verify_consistency(3, 3, &roots[2], &roots[2], &[]).unwrap();
        assert!(verify_consistency(3, 3, &roots[2], &roots[3], &[]).is_err());
    }

    /// Proofs the crate makes, over revision hashes, pass the checks the tests use; a flipped
    /// hash or a wrong position fails them.
    #[test]
    fn proofs_of_every_size_check_and_tampered_ones_fail() {
        let revs = revisions(17);
        let mut tree = MemoryBackedTree::<Sha256, Hash>::new();
        let mut roots = vec![tree_hash(&[])];
        for rev in &revs {
            tree.push(*rev);
            roots.push((*tree.root().as_bytes()).into());
        }
        let n = revs.len();
        for (i, rev) in revs.iter().enumerate() {
            let bytes = tree.prove_inclusion(i).as_bytes().to_vec();
            let path: Vec<Hash> = bytes.chunks(32).map(|c| c.try_into().unwrap()).collect();
            verify_inclusion(i as u64, n as u64, rev, &path, &roots[n]).unwrap();
            assert!(verify_inclusion(i as u64, n as u64, &flip(rev), &path, &roots[n]).is_err());
            if let Some(first) = path.first() {
                let mut bad = path.clone();
                bad[0] = flip(first);
                assert!(verify_inclusion(i as u64, n as u64, rev, &bad, &roots[n]).is_err());
            }
        }
        for m in 1..n {
            let bytes = tree.prove_consistency(n - m).as_bytes().to_vec();
            let proof: Vec<Hash> = bytes.chunks(32).map(|c| c.try_into().unwrap()).collect();
            verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof).unwrap();
            let old = flip(&roots[m]);
            assert!(verify_consistency(m as u64, n as u64, &old, &roots[n], &proof).is_err());
        }
    }

    #[test]
    fn hex32_is_strict() {
        let good = "00ff".repeat(16);
        assert_eq!(hex32(&good).unwrap()[1], 0xff);
        for bad in [good.to_uppercase(), good[1..].to_owned(), format!("{good}0"), String::new()] {
            assert!(hex32(&bad).is_err(), "{bad:?}");
        }
    }

    // Go's published signed-note example (golang.org/x/mod/sumdb/note).
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
    fn go_signed_note_vectors() {
        let key = VerifierKey::parse(GO_VERIFIER_KEY).unwrap();
        assert_eq!(key.key_id(), 0xc74f20a3);
        let note = format!("{GO_TEXT}\n{GO_SIGNATURE}");
        assert_eq!(open_note(&note, &key).unwrap(), GO_TEXT);
        let cosigned = format!("{note}{GO_OTHER_SIGNATURE}");
        assert_eq!(open_note(&cosigned, &key).unwrap(), GO_TEXT);
        assert!(open_note(&format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}"), &key).is_err());
        assert!(open_note(&note.replace("problem,", "problem;"), &key).is_err());
        assert!(open_note(&note.replace('\u{2014}', "-"), &key).is_err());
        assert!(open_checkpoint(&note, &key).is_err(), "not a checkpoint");
        // Ed25519 is deterministic: Go's signer key reproduces the note exactly.
        assert_eq!(sign(GO_TEXT, GO_SIGNER_KEY), note);
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
    }

    const NAME: &str = "example.com/palimpsest-test";

    /// The signer key of the test seed 00 01 .. 1f, as docs/verify_log.py derives it.
    fn test_signer() -> (String, String) {
        let signing = SigningKey::from_bytes(&std::array::from_fn(|i| i as u8));
        let public = [&[1u8][..], signing.verifying_key().as_bytes()].concat();
        let id = signed_note::key_id(NAME, &public);
        let seed = [&[1u8][..], signing.as_bytes()].concat();
        let signer = format!("PRIVATE+KEY+{NAME}+{id:08x}+{}", BASE64.encode(seed));
        let verifier = format!("{NAME}+{id:08x}+{}", BASE64.encode(public));
        (signer, verifier)
    }

    fn sign(text: &str, signer_key: &str) -> String {
        let signer = StandardSigner::new(signer_key).unwrap();
        let mut note = Note::new(text.as_bytes(), &[]).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        String::from_utf8(note.to_bytes()).unwrap()
    }

    fn body(size: u64, root: &Hash) -> String {
        format!("{NAME}\n{size}\n{}\n", BASE64.encode(root))
    }

    #[test]
    fn checkpoints_open_as_docs_verify_log_py_signs_them() {
        let (signer, verifier) = test_signer();
        assert_eq!(
            verifier,
            "example.com/palimpsest-test+862930a1+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        );
        let key = VerifierKey::parse(&verifier).unwrap();
        let root = tree_hash(&revisions(7));
        let note = sign(&body(7, &root), &signer);
        assert_eq!(
            note,
            "example.com/palimpsest-test\n7\n2AF0RTneBumJtiCiWbkk4kf4Rh9AY+aPyGcb5Q1ng6o=\n\n\
             \u{2014} example.com/palimpsest-test hikwoQjPE7TFSMlfT/NPib54RRgM2RjdnSplpHbHEw4jg7n\
             z2yfO3yAUcQZxhFQYTB/px7l/2yzrvOZcA88kppMDhwQ=\n"
        );
        let checkpoint = open_checkpoint(&note, &key).unwrap();
        assert_eq!(checkpoint, Checkpoint { origin: NAME.to_owned(), size: 7, root });
        let extended = sign(&format!("{}one\ntwo\n", body(7, &root)), &signer);
        assert_eq!(open_checkpoint(&extended, &key).unwrap(), checkpoint);
        assert_eq!(
            open_checkpoint(&format!("{note}{GO_OTHER_SIGNATURE}"), &key).unwrap(),
            checkpoint
        );
        let largest = sign(&body(u64::MAX, &root), &signer);
        assert_eq!(open_checkpoint(&largest, &key).unwrap().size, u64::MAX);
        let other_origin = sign(&body(7, &root).replacen(NAME, "example.com/other", 1), &signer);
        assert!(open_checkpoint(&other_origin, &key).unwrap_err().contains("signed by"));
    }

    #[test]
    fn checkpoint_rejections() {
        let (signer, verifier) = test_signer();
        let key = VerifierKey::parse(&verifier).unwrap();
        let root = tree_hash(&revisions(5));
        let text = body(5, &root);
        let note = sign(&text, &signer);
        open_checkpoint(&note, &key).unwrap();
        assert!(open_checkpoint(&note, &VerifierKey::parse(GO_VERIFIER_KEY).unwrap()).is_err());

        let rejected = |signed: &str, why: &str| {
            assert!(open_checkpoint(signed, &key).is_err(), "accepted: {why}: {signed:?}");
        };
        rejected(&note.replace("\n5\n", "\n6\n"), "changed size");
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
        rejected(&format!("{text}\n{corrupted}"), "a bad signature");
        rejected(&format!("{text}\n{corrupted}{signature_line}"), "a bad one before a good one");
        rejected(&format!("{text}\n{}", signature_line.repeat(101)), "too many signatures");

        let b64 = BASE64.encode(root);
        let bodies = [
            (format!("{NAME}\n5\n"), "missing root line"),
            (format!("\n5\n{b64}\n"), "empty origin"),
            (format!("{NAME}\n05\n{b64}\n"), "leading zero"),
            (format!("{NAME}\n+5\n{b64}\n"), "signed size"),
            (format!("{NAME}\n5x\n{b64}\n"), "non-decimal size"),
            (format!("{NAME}\n18446744073709551616\n{b64}\n"), "size beyond 64 bits"),
            (format!("{NAME}\n5\n{}\n", BASE64.encode(&root[..31])), "31-byte root"),
            (format!("{NAME}\n5\n{}\n", b64.trim_end_matches('=')), "unpadded root"),
            (format!("{NAME}\n5\n{}\n", hex::encode(root)), "hex root"),
            (format!("{NAME}\n5\n{b64}\n\nextension\n"), "empty extension line"),
        ];
        for (body, why) in bodies {
            rejected(&sign(&body, &signer), why);
        }
        rejected(&note.replacen(&b64, &format!("{}{}", &b64[..42], "B="), 1), "changed root");
    }
}
