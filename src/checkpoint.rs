//! Signed checkpoints of the transparency log, in the formats transparency logs share so that
//! any of their tools can check ours:
//! - a checkpoint is a C2SP `tlog-checkpoint` note: the origin, the tree size and the root
//!   hash (standard base64), one per line;
//! - it is signed as a C2SP `signed-note` with Ed25519: after a blank line, one line
//!   `— <key name> <base64(key id ‖ signature)>`, the key id being the first four bytes of
//!   `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`;
//! - the verifier key is published as `<name>+<key id, hex>+<base64(0x01 ‖ public key)>`, and
//!   the signing key is kept in a file as `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`,
//!   the forms of Go's `golang.org/x/mod/sumdb/note`.
//!
//! The signing key lives in a file outside the database it vouches for: whoever can rewrite
//! the database cannot also sign a checkpoint of the rewritten log. The origin is the key's
//! name.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The Ed25519 algorithm byte of the signed-note formats.
const ALG_ED25519: u8 = 0x01;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the log key name {0:?} must be non-empty and hold no spaces or `+`")]
    BadName(String),
    #[error("cannot read or write the log key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a log signing key (PRIVATE+KEY+name+id+key)")]
    Malformed { path: String },
    #[error("{0:?} is not a verifier key (name+id+key, as `palimpsest log-key` prints it)")]
    MalformedVerifier(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint is not a signed note")]
    NotSigned,
    #[error("no signature by {0} on the checkpoint")]
    NoSignature(String),
    #[error("the checkpoint's signature does not verify with {0}")]
    BadSignature(String),
    #[error("the checkpoint's text is malformed: {0}")]
    Malformed(&'static str),
}

/// A checkpoint's content: the log it is of, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text (tlog-checkpoint), each line ending in a newline.
    pub fn text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root))
    }

    fn parse(text: &str) -> Result<Self, CheckpointError> {
        let mut lines = text.split_terminator('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::Malformed("the first line must name the origin"))?;
        let size = lines
            .next()
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
            .filter(|l| *l == "0" || !l.starts_with('0'))
            .and_then(|l| l.parse().ok())
            .ok_or(CheckpointError::Malformed("the second line must be the tree size"))?;
        let root = lines
            .next()
            .and_then(|l| BASE64.decode(l).ok())
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(CheckpointError::Malformed("the third line must be a base64 SHA-256"))?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

/// The public half of the log's key, as outsiders hold it: enough to check checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Parses `name+id+key`, checking that the id is the key's.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let malformed = || KeyError::MalformedVerifier(text.to_owned());
        let mut parts = text.trim().splitn(3, '+');
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(malformed)?;
        let (id, key) = (parts.next().ok_or_else(malformed)?, parts.next().ok_or_else(malformed)?);
        let bytes = BASE64.decode(key).map_err(|_| malformed())?;
        let (&alg, public) = bytes.split_first().ok_or_else(malformed)?;
        let public: [u8; 32] = public.try_into().map_err(|_| malformed())?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| malformed())?;
        let verifier = VerifierKey { name: name.to_owned(), key };
        let valid = alg == ALG_ED25519 && hex::encode(verifier.key_id()) == id;
        valid.then_some(verifier).ok_or_else(malformed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.key)
    }

    /// The checkpoint in `note` if this key signed it.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let (text, signatures) = note.split_once("\n\n").ok_or(CheckpointError::NotSigned)?;
        let text = format!("{text}\n");
        let prefix = format!("\u{2014} {} ", self.name);
        let signature = signatures
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .filter_map(|b64| BASE64.decode(b64).ok())
            .find(|blob| blob.len() == 68 && blob[..4] == self.key_id())
            .ok_or_else(|| CheckpointError::NoSignature(self.name.clone()))?;
        let signature = Signature::from_slice(&signature[4..])
            .map_err(|_| CheckpointError::BadSignature(self.name.clone()))?;
        self.key
            .verify(text.as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature(self.name.clone()))?;
        Checkpoint::parse(&text)
    }
}

impl std::fmt::Display for VerifierKey {
    /// `<name>+<key id>+<base64 key>`: what a verifier needs, published out of band.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(self.key_id()), BASE64.encode(key))
    }
}

/// The log's signing key and its name.
pub struct LogKey {
    name: String,
    signing: SigningKey,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey").field("verifier", &self.verifier_key()).finish()
    }
}

impl LogKey {
    /// A new key from the system's randomness.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Io {
            path: "(randomness)".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Self::from_seed(name, seed)
    }

    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        if name.is_empty() || name.contains(|c: char| c == '+' || c.is_whitespace()) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        Ok(LogKey { name: name.to_owned(), signing: SigningKey::from_bytes(&seed) })
    }

    /// The key kept in `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| KeyError::Io { path: path.display().to_string(), source })?;
        Self::parse_private(text.trim())
            .ok_or_else(|| KeyError::Malformed { path: path.display().to_string() })
    }

    /// The key in `path`, or a new key named `name` written there first (readable by its
    /// owner only). Returns whether it was created.
    pub fn load_or_create(path: &Path, name: &str) -> Result<(Self, bool), KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let key = Self::generate(name)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", key.private_text()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok((key, true))
            }
            // Another process created it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::load_or_create(path, name)
            }
            Err(err) => Err(io(err)),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.signing.verifying_key())
    }

    /// The public half.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey { name: self.name.clone(), key: self.signing.verifying_key() }
    }

    /// `<name>+<key id>+<base64 key>`: what a verifier needs, published out of band.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_string()
    }

    fn private_text(&self) -> String {
        let mut seed = vec![ALG_ED25519];
        seed.extend_from_slice(self.signing.as_bytes());
        format!("PRIVATE+KEY+{}+{}+{}", self.name, hex::encode(self.key_id()), BASE64.encode(seed))
    }

    fn parse_private(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("PRIVATE+KEY+")?;
        let mut parts = rest.splitn(3, '+');
        let (name, id, key) = (parts.next()?, parts.next()?, parts.next()?);
        let bytes = BASE64.decode(key).ok()?;
        let (&alg, seed) = bytes.split_first()?;
        let key = Self::from_seed(name, seed.try_into().ok()?).ok()?;
        (alg == ALG_ED25519 && hex::encode(key.key_id()) == id).then_some(key)
    }

    /// The signed note of a checkpoint of this log (whose origin is the key's name).
    pub fn sign(&self, size: u64, root: &Hash) -> String {
        self.sign_note(&Checkpoint { origin: self.name.clone(), size, root: *root }.text())
    }

    /// A signed note of a statement other than a checkpoint: its text is the key's name, then
    /// `statement` (one line that is not a number, so the note can never be read as a
    /// checkpoint, whose second line is its tree size).
    pub fn sign_statement(&self, statement: &str) -> String {
        assert!(
            !statement.contains('\n') && statement.parse::<u64>().is_err(),
            "a statement is one line that is not a tree size"
        );
        self.sign_note(&format!("{}\n{statement}\n", self.name))
    }

    fn sign_note(&self, text: &str) -> String {
        let signature = self.signing.sign(text.as_bytes());
        let mut blob = self.key_id().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{text}\n\u{2014} {} {}\n", self.name, BASE64.encode(blob))
    }

    /// The checkpoint in `note` if this key signed it.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        self.verifier().open(note)
    }
}

fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ALG_ED25519]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_not_when_altered() {
        let key = LogKey::from_seed("example.org/log", [7; 32]).unwrap();
        let note = key.sign(5, &[9; 32]);
        let opened = key.open(&note).unwrap();
        assert_eq!(
            (opened.origin.as_str(), opened.size, opened.root),
            ("example.org/log", 5, [9; 32])
        );
        assert!(note.starts_with("example.org/log\n5\nCQkJ"), "{note}");
        assert!(note.contains("\n\n\u{2014} example.org/log "), "{note}");
        let altered = note.replacen("\n5\n", "\n6\n", 1);
        assert_eq!(key.open(&altered), Err(CheckpointError::BadSignature(key.name.clone())));
        let other = LogKey::from_seed("example.org/log", [8; 32]).unwrap();
        assert!(matches!(other.open(&note), Err(CheckpointError::NoSignature(_))));
        assert!(LogKey::from_seed("two words", [1; 32]).is_err());
    }

    #[test]
    fn the_key_file_round_trips_and_the_verifier_key_names_the_key() {
        let key = LogKey::from_seed("log", [3; 32]).unwrap();
        let again = LogKey::parse_private(&key.private_text()).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        let verifier = key.verifier_key();
        let parts: Vec<&str> = verifier.split('+').collect();
        assert_eq!(parts[0], "log");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(BASE64.decode(parts[2]).unwrap().len(), 33);
        assert!(LogKey::parse_private(&key.private_text().replace("+log+", "+other+")).is_none());
        let parsed = VerifierKey::parse(&verifier).unwrap();
        assert_eq!(parsed, key.verifier());
        assert!(VerifierKey::parse(&verifier.replacen("log+", "gol+", 1)).is_err());
        assert!(VerifierKey::parse("log+00000000+AAAA").is_err());
    }
}
