//! The closed sets of names the store keeps as text (`article`, `editor`, `quotes`, ...): each
//! a Rust enum with its stored spelling, parsed with `FromStr` at the edge and when a row is
//! read back.

use std::fmt;
use std::str::FromStr;

use super::values::{InvalidValue, quoted};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored spelling.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(input: &str) -> Result<Self, InvalidValue> {
                match input {
                    $($text => Ok($name::$variant),)+
                    _ => Err(InvalidValue::new($field, format!("{} is not one of: {}",
                        quoted(input), [$($text),+].join(", ")))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What kind of work a document is.
    DocumentKind, "kind" {
        Article => "article",
        Letter => "letter",
        Report => "report",
        Statement => "statement",
        Other => "other",
    }
);

string_enum!(
    /// What kind of agent (in the W3C PROV sense) an agent is.
    AgentKind, "agentKind" {
        Person => "person",
        Organization => "organization",
        Software => "software",
    }
);

string_enum!(
    /// What an API token may do: readers read; editors also write documents; archivists read
    /// the audit log, verify the corpus and redact, but write no documents; admins do all of
    /// that and manage agents.
    Role, "role" {
        Reader => "reader",
        Editor => "editor",
        Archivist => "archivist",
        Admin => "admin",
    }
);

string_enum!(
    /// Who may read a collection's documents: anyone, or only its members.
    Visibility, "visibility" {
        Public => "public",
        Restricted => "restricted",
    }
);

string_enum!(
    /// What kind of thing a source is.
    SourceKind, "kind" {
        WebPage => "web_page",
        Letter => "letter",
        Report => "report",
        Print => "print",
        Interview => "interview",
        Dataset => "dataset",
        Other => "other",
    }
);

string_enum!(
    /// How a citing document relates to what it cites.
    CitationRelation, "relation" {
        Quotes => "quotes",
        Paraphrases => "paraphrases",
        Cites => "cites",
        Supports => "supports",
        Disputes => "disputes",
    }
);

string_enum!(
    /// How a citation row came to be in its citing revision: `Created` by a client on this
    /// revision; followed from the parent revision and `Reanchored` (its passage is still
    /// there), `Carried` (it names no passage) or `Orphaned` (its passage is gone).
    AnchorState, "anchor" {
        Created => "created",
        Reanchored => "reanchored",
        Carried => "carried",
        Orphaned => "orphaned",
    }
);

impl Role {
    pub fn may_write_documents(&self) -> bool {
        matches!(self, Role::Editor | Role::Admin)
    }

    /// Reading the audit log, verifying the corpus, redacting.
    pub fn may_audit(&self) -> bool {
        matches!(self, Role::Archivist | Role::Admin)
    }
}

string_enum!(
    /// What an audited command does.
    AuditAction, "action" {
        CreateDocument => "create_document",
        ReviseDocument => "revise_document",
        AddCitation => "add_citation",
        CreateSource => "create_source",
        CreateAgent => "create_agent",
        RedactRevision => "redact_revision",
        CreateToken => "create_token",
        RevokeToken => "revoke_token",
        ImportRevisions => "import_revisions",
        AddWatch => "add_watch",
        PauseWatch => "pause_watch",
        ResumeWatch => "resume_watch",
        RemoveWatch => "remove_watch",
        CaptureWatchNow => "capture_watch_now",
        CapturePage => "capture_page",
        CreateCollection => "create_collection",
        SetCollectionVisibility => "set_collection_visibility",
        AddMember => "add_member",
        RemoveMember => "remove_member",
        MoveDocument => "move_document",
        SetEmbargo => "set_embargo",
    }
);

string_enum!(
    /// How an audited command ended: it did what it was asked, or it was refused for the
    /// caller's role or because it lost to the state it found (and wrote nothing else).
    AuditOutcome, "outcome" {
        Succeeded => "succeeded",
        Forbidden => "forbidden",
        Conflict => "conflict",
        Failed => "failed",
    }
);

string_enum!(
    /// What a watch follows: one page, or a feed whose entries become page watches.
    WatchKind, "kind" {
        Page => "page",
        Feed => "feed",
    }
);

string_enum!(
    /// What came of one capture: a document `Created` or `Revised` from the page; the page
    /// showed the head's text again (`Unchanged`), or its server said so (`NotModified`, 304);
    /// the page is `Gone` (404, 410) or the fetch `Failed` (an error status, a timeout, a page
    /// too large or with no article); or it was `Refused` before any request (robots.txt, a
    /// forbidden address). A feed's capture that was read is `FeedRead`.
    CaptureOutcome, "outcome" {
        Created => "created",
        Revised => "revised",
        Unchanged => "unchanged",
        NotModified => "not_modified",
        Gone => "gone",
        Failed => "failed",
        Refused => "refused",
        FeedRead => "feed_read",
    }
);

impl CaptureOutcome {
    /// Whether the capture saw the page's text, so that it counts as a sighting of a revision.
    pub fn saw_text(&self) -> bool {
        matches!(
            self,
            CaptureOutcome::Created
                | CaptureOutcome::Revised
                | CaptureOutcome::Unchanged
                | CaptureOutcome::NotModified
        )
    }

    /// Whether the capture failed (and counts among its watch's failures).
    pub fn is_failure(&self) -> bool {
        matches!(self, CaptureOutcome::Gone | CaptureOutcome::Failed | CaptureOutcome::Refused)
    }

    /// Whether the capture wrote a revision (and so kept its HTTP evidence).
    pub fn wrote_revision(&self) -> bool {
        matches!(self, CaptureOutcome::Created | CaptureOutcome::Revised)
    }
}

string_enum!(
    /// What verification found wrong, each named after the check that failed.
    ProblemKind, "kind" {
        ContentHash => "content_hash",
        ContentMissing => "content_missing",
        ContentSize => "content_size",
        HeaderHash => "header_hash",
        HeaderField => "header_field",
        HeaderMalformed => "header_malformed",
        Parent => "parent",
        Number => "number",
        Time => "time",
        Head => "head",
        Chain => "chain",
        Redaction => "redaction",
        LogMissing => "log_missing",
        LogLeaf => "log_leaf",
        LogNode => "log_node",
        LogSize => "log_size",
        Checkpoint => "checkpoint",
        CheckpointSignature => "checkpoint_signature",
    }
);
