//! The outsider's view of the transparency log, checked with published crates that share no
//! code with the server: `ct-merkle` (RFC 6962/9162 Merkle trees: tree hashes, inclusion and
//! consistency proofs) and `signed_note` (Cloudflare's port of Go's
//! golang.org/x/mod/sumdb/note: C2SP signed notes with Ed25519). Only the checkpoint body
//! (c2sp.org/tlog-checkpoint: origin, decimal size, base64 root, extension lines) is parsed
//! here. Test binaries share it through `#[path = "../common/rfc9162.rs"] mod rfc9162;`; its
//! tests (RFC 6962's, Go's and docs/verify_log.py's vectors) run there as `rfc9162::tests::*`.
//!
//! Leaf `i` is the `i`-th revision hash (32 bytes); ct-merkle hashes a leaf as
//! `SHA-256(0x00 || bytes)` and a node as `SHA-256(0x01 || left || right)`, as RFC 9162 2.1.1.
//! A proof binds a tree size only together with its root (different sizes can share the same
//! audit-path arithmetic), so take the size and the root from the same checkpoint.

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

/// The tree hash (MTH, RFC 9162 2.1.1) of these leaves (the log's: revision hashes) in order.
pub fn tree_hash<T: HashableLeaf + Clone>(leaves: &[T]) -> Hash {
    let mut tree = MemoryBackedTree::<Sha256, T>::new();
    for leaf in leaves {
        tree.push(leaf.clone());
    }
    (*tree.root().as_bytes()).into()
}

/// Checks that `leaf` (the log's: a revision hash) is leaf `index` of the tree of `size` leaves
/// whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &impl HashableLeaf,
    path: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    let proof = InclusionProof::<Sha256>::try_from_bytes(path.concat())
        .map_err(|e| format!("inclusion proof: {e:?}"))?;
    root_of(size, root)
        .verify_inclusion(leaf, index, &proof)
        .map_err(|e| format!("leaf {index} is not in the tree of {size}: {e:?}"))
}

/// Checks that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), String> {
    let proof = ConsistencyProof::<Sha256>::try_from_bytes(proof.concat())
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

/// Parses a checkpoint's note text (c2sp.org/tlog-checkpoint). The base64 engine is strict:
/// padding and trailing bits must be canonical.
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, String> {
    let body = text.strip_suffix('\n').ok_or("checkpoint: the text must end with a newline")?;
    let mut lines = body.split('\n');
    let origin = lines.next().filter(|origin| !origin.is_empty());
    let (Some(origin), Some(size), Some(root)) = (origin, lines.next(), lines.next()) else {
        return Err("checkpoint: an origin, a size and a root line are needed".to_owned());
    };
    let decimal =
        size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
    let size: u64 = (size.parse().ok().filter(|_| decimal))
        .ok_or_else(|| format!("checkpoint: tree size {size:?}"))?;
    let raw = BASE64.decode(root).map_err(|e| format!("checkpoint: root {root:?}: {e}"))?;
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

    /// Our server's leaf format and tree shape, as docs/verify_log.py computes them; the empty
    /// tree's hash is SHA-256 of nothing.
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
            assert_eq!(tree_hash(&revs[..n]), hex32(root).unwrap(), "size {n}");
        }
        // A leaf is SHA-256(0x00 || revision hash): the tree of one leaf is its leaf hash.
        let leaf: Hash = Sha256::new_with_prefix([0u8]).chain_update(revs[0]).finalize().into();
        assert_eq!(tree_hash(&revs[..1]), leaf);
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
            assert_eq!(tree_hash(&data[..n]), roots[n - 1], "root {n}");
        }
        let path = hex32_all(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        .unwrap();
        verify_inclusion(5, 8, &data[5], &path, &roots[7]).unwrap();
        assert!(verify_inclusion(4, 8, &data[5], &path, &roots[7]).is_err(), "wrong index");
        assert!(verify_inclusion(5, 8, &data[4], &path, &roots[7]).is_err(), "wrong leaf");
        assert!(verify_inclusion(5, 8, &data[5], &path[..2], &roots[7]).is_err(), "short path");
        assert!(verify_inclusion(5, 8, &data[5], &path, &roots[6]).is_err(), "wrong root");
        let proof = hex32_all(&[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
        .unwrap();
        verify_consistency(6, 8, &roots[5], &roots[7], &proof).unwrap();
        assert!(verify_consistency(6, 8, &roots[4], &roots[7], &proof).is_err());
        assert!(verify_consistency(6, 8, &roots[5], &roots[6], &proof).is_err());
        assert!(verify_consistency(6, 8, &roots[5], &roots[7], &proof[1..]).is_err());
        verify_consistency(3, 3, &roots[2], &roots[2], &[]).unwrap();
        assert!(verify_consistency(3, 3, &roots[2], &roots[3], &[]).is_err());
        assert!(verify_consistency(4, 3, &roots[3], &roots[2], &[]).is_err(), "shrinking");
    }

    #[test]
    fn hex32_is_strict() {
        let good = "00ff".repeat(16);
        assert_eq!(hex32(&good).unwrap()[1], 0xff);
        for bad in [good.to_uppercase(), good[1..].to_owned(), format!("{good}0"), String::new()] {
            assert!(hex32(&bad).is_err(), "{bad:?}");
        }
        assert!(hex32_all(&[good.as_str(), "00"]).is_err());
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
        assert_eq!((key.name.as_str(), key.verifier.key_id()), ("PeterNeumann", 0xc74f20a3));
        let note = format!("{GO_TEXT}\n{GO_SIGNATURE}");
        assert_eq!(open_note(&note, &key).unwrap(), GO_TEXT);
        let cosigned = format!("{note}{GO_OTHER_SIGNATURE}");
        assert_eq!(open_note(&cosigned, &key).unwrap(), GO_TEXT);
        assert!(open_note(&format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}"), &key).is_err());
        assert!(open_note(&note.replace("problem,", "problem;"), &key).is_err());
        assert!(open_note(&note.replace('\u{2014}', "-"), &key).is_err());
        let other_key = VerifierKey::parse(&test_signer().1).unwrap();
        assert!(open_note(&note, &other_key).is_err(), "a wrong key");
        assert!(open_checkpoint(&note, &key).is_err(), "not a checkpoint");
        // Ed25519 is deterministic: Go's signer key reproduces the note exactly.
        assert_eq!(sign(GO_TEXT, GO_SIGNER_KEY), note);
        // Key IDs are hex as Go's strconv.ParseUint reads them: uppercase is the same key.
        VerifierKey::parse(&GO_VERIFIER_KEY.replace("c74f20a3", "C74F20A3")).unwrap();
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
    }

    const NAME: &str = "example.com/palimpsest-test";

    /// The signer and verifier keys of the test seed 00 01 .. 1f, as docs/verify_log.py
    /// derives them.
    fn test_signer() -> (String, String) {
        let signing = SigningKey::from_bytes(&std::array::from_fn(|i| i as u8));
        let verifier = signed_note::new_ed25519_verifier_key(NAME, &signing.verifying_key());
        let seed = BASE64.encode([&[1u8][..], signing.as_bytes()].concat());
        (format!("PRIVATE+KEY+{NAME}+{}+{seed}", &verifier[NAME.len() + 1..][..8]), verifier)
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
        let cosigned = format!("{note}{GO_OTHER_SIGNATURE}");
        assert_eq!(open_checkpoint(&cosigned, &key).unwrap(), checkpoint);
        let empty = sign(&body(0, &tree_hash::<Hash>(&[])), &signer);
        assert_eq!(open_checkpoint(&empty, &key).unwrap().size, 0);
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
        let b64 = BASE64.encode(root);
        rejected(&note.replacen(&b64, &format!("{}{}", &b64[..42], "B="), 1), "changed root");
        rejected(&text, "no signature block");
        rejected(&format!("{text}\n"), "empty signature block");
        rejected(&note[..note.len() - 1], "no final newline");
        rejected(&format!("{note}trailing\n"), "junk after the signatures");
        rejected(&note.replace('\n', "\r\n"), "CRLF");
        rejected(&note.replacen("\n5\n", "\n5\t\n", 1), "a control character");
        let signature_line = &note[text.len() + 1..];
        let corrupted = format!(
            "{}{}=\n",
            &signature_line[..signature_line.len() - 5],
            if signature_line.ends_with("AAA=\n") { "BBA" } else { "AAA" }
        );
        rejected(&format!("{text}\n{corrupted}"), "a bad signature");
        rejected(&format!("{text}\n{corrupted}{signature_line}"), "a bad one before a good one");
        rejected(&format!("{text}\n{}", signature_line.repeat(101)), "too many signatures");

        // The last letter holds 4 bits of the root and 2 zero bits: flip one of those.
        let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = letters.find(b64.as_bytes()[42] as char).unwrap() ^ 1;
        let noncanonical = format!("{}{}=", &b64[..42], &letters[last..=last]);
        let bodies = [
            (format!("{NAME}\n"), "missing size line"),
            (format!("{NAME}\n5\n"), "missing root line"),
            (format!("\n5\n{b64}\n"), "empty origin"),
            (format!("{NAME}\n\n{b64}\n"), "empty size"),
            (format!("{NAME}\n05\n{b64}\n"), "leading zero"),
            (format!("{NAME}\n00\n{b64}\n"), "two zeros"),
            (format!("{NAME}\n+5\n{b64}\n"), "signed size"),
            (format!("{NAME}\n 5\n{b64}\n"), "space in size"),
            (format!("{NAME}\n5x\n{b64}\n"), "non-decimal size"),
            (format!("{NAME}\n18446744073709551616\n{b64}\n"), "size beyond 64 bits"),
            (format!("{NAME}\n5\n{}\n", BASE64.encode(&root[..31])), "31-byte root"),
            (format!("{NAME}\n5\n{}\n", BASE64.encode([&root[..], b"x"].concat())), "33 bytes"),
            (format!("{NAME}\n5\n{}\n", b64.trim_end_matches('=')), "unpadded root"),
            (format!("{NAME}\n5\n{noncanonical}\n"), "non-canonical base64"),
            (format!("{NAME}\n5\n{}\n", hex::encode(root)), "hex root"),
            (format!("{NAME}\n5\n{b64}\n\nextension\n"), "empty extension line"),
        ];
        for (body, why) in bodies {
            rejected(&sign(&body, &signer), why);
        }
    }
}
