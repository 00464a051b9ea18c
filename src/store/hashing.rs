//! The hashing contract (see `docs/hashing.md`): a revision's header is a JSON object
//! serialised with the JSON Canonicalization Scheme (RFC 8785), and the revision hash is the
//! SHA-256 of those bytes. External verifiers depend on every byte here; change nothing
//! without a new `type`.

use super::values::{
    AgentId, ContentHash, DocumentId, Message, RevisionHash, SourceId, Timestamp, Title,
};

/// The `type` member of every header this version writes.
pub const HEADER_TYPE: &str = "palimpsest.revision/v1";

/// The members of a revision header, before canonicalisation.
#[derive(Debug, Clone)]
pub struct RevisionHeader<'a> {
    pub document: DocumentId,
    pub parent: Option<&'a RevisionHash>,
    pub title: &'a Title,
    pub content_sha256: &'a ContentHash,
    pub author: AgentId,
    pub created_at: Timestamp,
    pub message: &'a Message,
    pub source: Option<SourceId>,
}

/// The header members a row's columns give, in canonical (sorted) order; `type` is the
/// constant [`HEADER_TYPE`].
pub const MEMBERS: [&str; 9] = [
    "author",
    "content_sha256",
    "created_at",
    "document",
    "message",
    "parent",
    "source",
    "title",
    "type",
];

/// A short digest of each member's canonical value, in [`MEMBERS`] order (`type` too, though
/// it never varies). Kept in place of a header that its row's columns rebuild, so that when a
/// column is altered verification can still say which member it breaks: two bytes each, so an
/// alteration goes unnamed (though never unnoticed: the hash breaks) once in 65,536.
pub type MemberDigests = [[u8; 2]; MEMBERS.len()];

impl RevisionHeader<'_> {
    /// Each member's value as a JSON string, or `None` for null, in [`MEMBERS`] order.
    fn values(&self) -> [Option<std::borrow::Cow<'_, str>>; MEMBERS.len()] {
        use std::borrow::Cow::{Borrowed, Owned};
        [
            Some(Owned(self.author.to_string())),
            Some(Borrowed(self.content_sha256.hex())),
            Some(Owned(self.created_at.to_string())),
            Some(Owned(self.document.to_string())),
            Some(Borrowed(self.message.as_str())),
            self.parent.map(|p| Borrowed(p.hex())),
            self.source.map(|s| Owned(s.to_string())),
            Some(Borrowed(self.title.as_str())),
            Some(Borrowed(HEADER_TYPE)),
        ]
    }

    /// The RFC 8785 canonical bytes. Every member is a string or null, so canonicalisation
    /// reduces to sorted keys, no whitespace and ES6 string escaping.
    pub fn canonical_json(&self) -> String {
        let mut out =
            String::with_capacity(512 + self.title.as_str().len() + self.message.as_str().len());
        out.push('{');
        // Keys in sorted order (RFC 8785 sorts by UTF-16 code units; these are all ASCII).
        for (i, (key, value)) in MEMBERS.iter().zip(self.values()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(&mut out, key);
            out.push(':');
            write_json_value(&mut out, value.as_deref());
        }
        out.push('}');
        out
    }

    pub fn hash(&self) -> (String, RevisionHash) {
        let canonical = self.canonical_json();
        let hash = RevisionHash::of_header(&canonical);
        (canonical, hash)
    }

    /// Each member's value as the header writes it (quoted and escaped, or `null`), in
    /// [`MEMBERS`] order.
    pub fn member_values(&self) -> [String; MEMBERS.len()] {
        self.values().map(|value| {
            let mut out = String::new();
            write_json_value(&mut out, value.as_deref());
            out
        })
    }

    /// The first two bytes of SHA-256 over each member's value as the header writes it.
    pub fn member_digests(&self) -> MemberDigests {
        use sha2::Digest;
        self.member_values().map(|value| {
            let full = sha2::Sha256::digest(value.as_bytes());
            [full[0], full[1]]
        })
    }
}

fn write_json_value(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => write_json_string(out, v),
        None => out.push_str("null"),
    }
}

/// A JSON string as ECMAScript's `JSON.stringify` writes it, which RFC 8785 adopts: `"` and
/// `\` escaped, the short escapes for \b \t \n \f \r, `\u00xx` (lowercase hex) for the other
/// control characters, and every other character as itself (no `\/`, no escaping of non-ASCII).
fn write_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published test vector (docs/hashing.md), computed independently with Python's
    /// `rfc8785` package and `hashlib`.
    #[test]
    fn the_published_test_vector_holds() {
        let content = "Hamas has been dismantled as a military and governmental force.\n";
        let content_sha256 = ContentHash::of(content);
        assert_eq!(
            content_sha256.hex(),
            "537dd50b26c5a1707437be3d6b35bb85ba9dbc4bb2b4dfded9ee3dfd7fae3a3f"
        );
        let title =
            Title::parse("Former security chiefs write to Trump \u{2014} \"end the war\"").unwrap();
        let message = Message::parse("Captured from the print edition\tp. 3").unwrap();
        let header = RevisionHeader {
            document: DocumentId::parse("019abcde-0123-7456-89ab-0123456789ab").unwrap(),
            parent: None,
            title: &title,
            content_sha256: &content_sha256,
            author: AgentId::parse("019abcde-0000-7000-8000-000000000001").unwrap(),
            created_at: Timestamp::parse("t", "2026-11-24T10:15:30.123456Z").unwrap(),
            message: &message,
            source: None,
        };
        let (canonical, hash) = header.hash();
        assert_eq!(canonical, TEST_VECTOR_HEADER);
        assert_eq!(hash.hex(), "eaef801cb33c29cd8b2122a2733ea4dcc0e3eb5492a2f23776fe5d76b85f1151");
    }

    const TEST_VECTOR_HEADER: &str = r#"{"author":"019abcde-0000-7000-8000-000000000001","content_sha256":"537dd50b26c5a1707437be3d6b35bb85ba9dbc4bb2b4dfded9ee3dfd7fae3a3f","created_at":"2026-11-24T10:15:30.123456Z","document":"019abcde-0123-7456-89ab-0123456789ab","message":"Captured from the print edition\tp. 3","parent":null,"source":null,"title":"Former security chiefs write to Trump — \"end the war\"","type":"palimpsest.revision/v1"}"#;

    #[test]
    fn strings_are_escaped_as_ecmascript_does() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\u{1}\n\u{7f}é/€😀");
        assert_eq!(out, "\"a\\\"b\\\\c\\u0001\\n\u{7f}é/€😀\"");
    }
}
