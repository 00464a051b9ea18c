//! Change receipts: one self-contained file that proves, to anyone with the log's verifier key
//! and no access to this server, what a document said at two revisions and what changed
//! between them (docs/receipts.md has the format; docs/verify_receipt.py checks one).
//!
//! Every part is bound by something the verifier checks: each header by its revision hash,
//! each text by its header's `content_sha256`, each revision hash by its inclusion proof in
//! the signed checkpoint, the word changes by rebuilding both texts from them, and everything
//! else (the captures' evidence digests and times, the sightings, the document) by the
//! receipt's own signature, a signed note over the SHA-256 of the receipt's canonical JSON
//! (RFC 8785) without it. The file *is* that canonical JSON with the signature added, so no
//! byte of it can change without the check failing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::checkpoint::LogKey;
use crate::store::{Capture, ReceiptParts, ReceiptSide, Sighting, Timestamp};

/// The receipt's `type`.
pub const RECEIPT_TYPE: &str = "palimpsest.change-receipt/v1";
/// What the receipt's signed note says before the digest.
const STATEMENT: &str = "palimpsest change receipt v1 sha256:";
/// How long the word changes may take to compute; past it they are coarser, never wrong.
const DIFF_TIME: Duration = Duration::from_secs(2);

/// The receipt of `parts`, signed with `key` at `issued_at`: the file's bytes.
pub fn receipt(parts: &ReceiptParts, key: &LogKey, issued_at: Timestamp) -> String {
    let changes = match (&parts.from.content, &parts.to.content) {
        (Some(from), Some(to)) => Value::Array(word_changes(from, to)),
        // A redacted side's words are gone: what changed cannot be shown, only that it did.
        _ => Value::Null,
    };
    let mut body = json!({
        "type": RECEIPT_TYPE,
        "issuedAt": issued_at.to_string(),
        "document": {
            "id": parts.document.id.to_string(),
            "slug": parts.document.slug.as_str(),
            "kind": parts.document.kind.as_str(),
        },
        "from": side(&parts.from),
        "to": side(&parts.to),
        "changes": changes,
        "log": {
            "keyName": key.name(),
            "checkpoint": parts.checkpoint.note,
        },
    });
    let digest = hex::encode(Sha256::digest(canonical(&body).as_bytes()));
    body["signature"] = Value::String(key.sign_statement(&format!("{STATEMENT}{digest}")));
    canonical(&body)
}

/// RFC 8785 for the values a receipt holds (strings, integers, booleans, null, arrays and
/// objects with ASCII keys): serde_json's maps are sorted, its output has no white space, and
/// it escapes strings as ECMAScript does.
fn canonical(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

fn side(side: &ReceiptSide) -> Value {
    let revision = &side.revision;
    json!({
        "hash": revision.hash.hex(),
        "header": revision.header(),
        "content": side.content,
        "redaction": side.redaction.as_ref().map(|r| json!({
            "at": r.at.to_string(),
            "reason": r.reason,
        })),
        "logIndex": side.proof.leaf_index,
        "treeSize": side.proof.tree_size,
        "inclusionProof": side.proof.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
        "capture": side.capture.as_ref().map(capture),
        "sightings": side.sighting.as_ref().map(sightings),
    })
}

fn capture(capture: &Capture) -> Value {
    json!({
        "url": capture.url,
        "finalUrl": capture.final_url,
        "status": capture.status,
        "fetchedAt": capture.fetched_at.to_string(),
        "payloadDigest": capture.payload_digest,
        "warcRecordId": capture.response_record.map(|id| format!("urn:uuid:{id}")),
    })
}

fn sightings(sighting: &Sighting) -> Value {
    json!({
        "firstSeenAt": sighting.first.to_string(),
        "lastSeenAt": sighting.last.to_string(),
        "count": sighting.count,
    })
}

/// The word changes from `from` to `to`, covering both texts whole: the `equal` and `delete`
/// runs put together are `from`, the `equal` and `insert` runs `to`.
fn word_changes(from: &str, to: &str) -> Vec<Value> {
    let diff =
        similar::TextDiff::configure().deadline(Instant::now() + DIFF_TIME).diff_words(from, to);
    let mut runs: Vec<(similar::ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    runs.into_iter()
        .map(|(tag, text)| {
            let op = match tag {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Insert => "insert",
                similar::ChangeTag::Delete => "delete",
            };
            json!({ "op": op, "text": text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_changes_rebuild_both_texts() {
        let from = "The council voted to close the bridge.\n\nRepairs take eighteen months.";
        let to = "The council voted to shut the bridge.\n\nRepairs take two years.";
        let changes = word_changes(from, to);
        let side = |skip: &str| -> String {
            changes
                .iter()
                .filter(|c| c["op"] != skip)
                .map(|c| c["text"].as_str().unwrap())
                .collect()
        };
        assert_eq!(side("insert"), from);
        assert_eq!(side("delete"), to);
        assert!(changes.iter().any(|c| c["op"] == "insert" && c["text"] == "shut"));
    }

    #[test]
    fn the_canonical_form_sorts_keys_and_has_no_white_space() {
        let value = json!({ "b": [1, "x\n\u{1}é"], "a": null });
        assert_eq!(canonical(&value), "{\"a\":null,\"b\":[1,\"x\\n\\u0001é\"]}");
    }
}
