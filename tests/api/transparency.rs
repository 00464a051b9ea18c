//! The transparency log as an outsider checks it: signed checkpoints opened with the published
//! verifier key, and every inclusion and consistency proof the server serves checked by a
//! verifier that shares no code with the server (`common/rfc9162.rs`: the published `ct-merkle`
//! and `signed_note` crates).

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};
use crate::rfc9162::{self, Hash, VerifierKey};

crate::on_both_backends!(
    every_revision_is_provably_in_every_signed_tree,
    proofs_for_trees_the_log_has_not_grown_to_are_refused,
    concurrent_writers_never_fork_or_reorder_the_log,
    revisions_written_before_the_log_join_it_in_order_of_creation,
    #[cfg_attr(palimpsest_no_cryptography, ignore = "needs python3 with cryptography")]
    the_published_python_verifier_accepts_what_the_server_serves,
    the_server_signs_a_checkpoint_soon_after_the_log_grows,
    appends_from_other_stores_and_rolled_back_transactions_leave_one_tree,
    nodes_sharing_the_log_key_sign_one_checkpoint_per_size_and_another_key_signs_nothing,
);

/// A signed tree the client has checked: its size and root, from the note alone.
struct Tree {
    size: u64,
    root: Hash,
    note: String,
}

/// Fetches the checkpoint of `size` leaves and opens it with the key the operator published
/// (not the one the server serves beside it).
async fn signed_tree(app: &TestApp, size: u64) -> Tree {
    let body = app.checkpoint_of(size).await;
    assert_no_errors(&body);
    let log = &body["data"]["transparencyLog"];
    let key = VerifierKey::parse(&app.log_key.verifier_key()).unwrap();
    let note = log["checkpoint"].as_str().unwrap().to_owned();
    let checkpoint = rfc9162::open_checkpoint(&note, &key).unwrap();
    assert_eq!(log["size"].as_u64(), Some(checkpoint.size));
    assert_eq!(log["rootHash"].as_str().unwrap(), hex::encode(checkpoint.root));
    assert_eq!(log["verifierKey"].as_str().unwrap(), app.log_key.verifier_key());
    assert_eq!(log["origin"].as_str().unwrap(), checkpoint.origin);
    Tree { size: checkpoint.size, root: checkpoint.root, note }
}

async fn inclusion(app: &TestApp, revision: &str, tree_size: u64) -> (u64, Vec<Hash>) {
    let body = app
        .query(
            "query($h: String!, $s: Int) { revision(hash: $h) {
               logIndex inclusionProof(treeSize: $s) { leafIndex treeSize hashes } } }",
            json!({ "h": revision, "s": tree_size }),
        )
        .await;
    assert_no_errors(&body);
    let revision = &body["data"]["revision"];
    let proof = &revision["inclusionProof"];
    assert_eq!(proof["leafIndex"], revision["logIndex"]);
    assert_eq!(proof["treeSize"].as_u64(), Some(tree_size));
    (proof["leafIndex"].as_u64().unwrap(), hashes(&proof["hashes"]))
}

fn hashes(list: &Value) -> Vec<Hash> {
    let list: Vec<&str> = list.as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    rfc9162::hex32_all(&list).unwrap()
}

async fn consistency(app: &TestApp, from: u64, to: u64) -> Vec<Hash> {
    let body = app
        .query(
            "query($f: Int!, $t: Int!) { consistencyProof(from: $f, to: $t) { from to hashes } }",
            json!({ "f": from, "t": to }),
        )
        .await;
    assert_no_errors(&body);
    hashes(&body["data"]["consistencyProof"]["hashes"])
}

async fn every_revision_is_provably_in_every_signed_tree(app: TestApp) {
    let token = app.editor().await;
    let mut trees = Vec::new();
    let mut revisions: Vec<String> = Vec::new();
    // Three documents written in turn: 13 revisions, not a power of two, interleaved.
    let mut heads: Vec<(String, String)> = Vec::new();
    for slug in ["alpha", "beta", "gamma"] {
        let created = app.create_document(&token, slug, "first\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let hash = created["revision"]["hash"].as_str().unwrap().to_owned();
        revisions.push(hash.clone());
        heads.push((id, hash));
        trees.push(signed_tree(&app, revisions.len() as u64).await);
    }
    for round in 0..10 {
        let (id, head) = heads[round % 3].clone();
        let body = app.revise(&token, &id, &head, &format!("edit {round}\n")).await;
        assert_no_errors(&body);
        let hash = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        heads[round % 3].1 = hash.clone();
        revisions.push(hash);
        trees.push(signed_tree(&app, revisions.len() as u64).await);
    }
    let sizes: Vec<u64> = trees.iter().map(|t| t.size).collect();
    assert_eq!(sizes, (1..=13).collect::<Vec<u64>>(), "one leaf per revision, in commit order");
    let leaves: Vec<Hash> = revisions.iter().map(|h| rfc9162::hex32(h).unwrap()).collect();
    for tree in &trees {
        assert_eq!(tree.root, rfc9162::tree_hash(&leaves[..tree.size as usize]));
        for (index, revision) in revisions.iter().enumerate().take(tree.size as usize) {
            let (leaf, proof) = inclusion(&app, revision, tree.size).await;
            assert_eq!(leaf, index as u64, "revisions are leaves in the order they were written");
            rfc9162::verify_inclusion(leaf, tree.size, &leaves[index], &proof, &tree.root)
                .unwrap_or_else(|e| panic!("leaf {index} in tree {}: {e}", tree.size));
        }
    }
    for old in &trees {
        for new in trees.iter().filter(|t| t.size >= old.size) {
            let proof = consistency(&app, old.size, new.size).await;
            rfc9162::verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
                .unwrap_or_else(|e| panic!("{} to {}: {e}", old.size, new.size));
        }
    }
    // The note served for an unchanged log is the one signed before: a fixed point to hold
    // the log to.
    assert_eq!(signed_tree(&app, 13).await.note, trees.last().unwrap().note);
}

async fn proofs_for_trees_the_log_has_not_grown_to_are_refused(app: TestApp) {
    let token = app.editor().await;
    let (_, hashes) = app.document_with_history(&token, "short", 3).await;
    for tree_size in [4, 0, 2] {
        // Leaf 2 is in no tree of fewer than 3 leaves, and the log has only 3.
        let body = app
            .query(
                "query($h: String!, $s: Int) { revision(hash: $h) {
                   inclusionProof(treeSize: $s) { hashes } } }",
                json!({ "h": hashes[2], "s": tree_size }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("tree size"), "{body:#}");
    }
    for (from, to) in [(0, 2), (3, 2), (1, 4)] {
        let body = app
            .query(
                "query($f: Int!, $t: Int!) { consistencyProof(from: $f, to: $t) { hashes } }",
                json!({ "f": from, "t": to }),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{from}..{to}: {body:#}");
    }
}

async fn concurrent_writers_never_fork_or_reorder_the_log(app: TestApp) {
    let token = app.editor().await;
    let mut documents = Vec::new();
    for i in 0..6 {
        let created = app.create_document(&token, &format!("writer-{i}"), "0\n").await;
        documents.push((
            created["document"]["id"].as_str().unwrap().to_owned(),
            created["revision"]["hash"].as_str().unwrap().to_owned(),
        ));
    }
    let app = std::sync::Arc::new(app);
    let writers = documents.into_iter().map(|(id, mut head)| {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move {
            for n in 1..=5 {
                let body = app.revise(&token, &id, &head, &format!("{n}\n")).await;
                assert_no_errors(&body);
                head =
                    body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
            }
        })
    });
    for writer in futures_util::future::join_all(writers).await {
        writer.unwrap();
    }
    let body = app
        .query(
            "{ documents(first: 10) { nodes { revisions(first: 10) {
                 nodes { hash number logIndex } } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    let mut leaves: Vec<(u64, String)> = Vec::new();
    for document in body["data"]["documents"]["nodes"].as_array().unwrap() {
        let history = document["revisions"]["nodes"].as_array().unwrap();
        // Newest first: along each chain, later revisions have later leaves.
        let indexes: Vec<u64> = history.iter().map(|r| r["logIndex"].as_u64().unwrap()).collect();
        assert!(indexes.windows(2).all(|w| w[0] > w[1]), "{indexes:?}");
        leaves.extend(
            history
                .iter()
                .map(|r| (r["logIndex"].as_u64().unwrap(), r["hash"].as_str().unwrap().to_owned())),
        );
    }
    leaves.sort();
    let indexes: Vec<u64> = leaves.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, (0..36).collect::<Vec<u64>>(), "no gap, no duplicate");
    let tree = signed_tree(&app, 36).await;
    let hashes: Vec<Hash> = leaves.iter().map(|(_, h)| rfc9162::hex32(h).unwrap()).collect();
    assert_eq!((tree.size, tree.root), (36, rfc9162::tree_hash(&hashes)));
    let budget = palimpsest::budget::Budget::unlimited();
    let key = app.log_key.verifier();
    let verified = app.store.verify_log(Some(&key), &[], &budget, &|_| {}).await.unwrap();
    assert!(verified.report.is_clean(), "{:?}", verified.report.problems);
}

async fn revisions_written_before_the_log_join_it_in_order_of_creation(app: TestApp) {
    let token = app.editor().await;
    let (_, first) = app.document_with_history(&token, "older", 3).await;
    let (_, second) = app.document_with_history(&token, "newer", 2).await;
    // The corpus as it was before the migration that brought the log, which then runs.
    use migration::MigratorTrait;
    let db = &app.schema_connection().await;
    palimpsest::store::unpack_for_downgrade(db).await.unwrap();
    migration::Migrator::down(db, Some(5)).await.unwrap();
    palimpsest::store::migrate(db).await.unwrap();
    let written: Vec<&String> = first.iter().chain(&second).collect();
    let leaves: Vec<Hash> = written.iter().map(|h| rfc9162::hex32(h).unwrap()).collect();
    let tree = signed_tree(&app, 5).await;
    assert_eq!((tree.size, tree.root), (5, rfc9162::tree_hash(&leaves)));
    for (index, hash) in written.iter().enumerate() {
        let (leaf, proof) = inclusion(&app, hash, 5).await;
        assert_eq!(leaf, index as u64);
        rfc9162::verify_inclusion(leaf, 5, &leaves[index], &proof, &tree.root).unwrap();
    }
    // Migrating again appends nothing: a revision without a leaf from now on is tampering.
    db.execute_unprepared("UPDATE revisions SET log_index = NULL WHERE log_index = 4")
        .await
        .unwrap();
    palimpsest::store::migrate(db).await.unwrap();
    assert_eq!(app.store.log_size().await.unwrap(), 5);
}

async fn the_published_python_verifier_accepts_what_the_server_serves(app: TestApp) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_log.py");
    let token = app.editor().await;
    let (_, hashes) = app.document_with_history(&token, "checked-outside", 3).await;
    let old = signed_tree(&app, 3).await;
    app.document_with_history(&token, "later", 2).await;
    let tree = signed_tree(&app, 5).await;
    let dir = std::env::temp_dir().join(format!("palimpsest-log-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let note = dir.join("checkpoint.txt");
    std::fs::write(&note, &tree.note).unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new("python3").arg(script).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let key = app.log_key.verifier_key();
    let (status, out) = run(&["checkpoint", note.to_str().unwrap(), &key]);
    assert_eq!(status, Some(0), "{out}");
    assert!(out.contains(&hex::encode(tree.root)), "{out}");

    let (index, proof) = inclusion(&app, &hashes[1], tree.size).await;
    let (size, root) = (tree.size.to_string(), hex::encode(tree.root));
    let index = index.to_string();
    let mut args = vec!["inclusion", "--hash", &hashes[1], "--index", &index, "--size", &size];
    args.extend(["--root", &root]);
    let proof: Vec<String> = proof.iter().map(hex::encode).collect();
    args.extend(proof.iter().map(String::as_str));
    assert_eq!(run(&args).0, Some(0), "the inclusion proof verifies");
    let wrong = hashes[0].clone();
    args[2] = &wrong;
    assert_eq!(run(&args).0, Some(1), "another revision's hash does not");

    let consistency: Vec<String> =
        consistency(&app, old.size, tree.size).await.iter().map(hex::encode).collect();
    let (from, to) = (old.size.to_string(), tree.size.to_string());
    let old_root = hex::encode(old.root);
    let mut args = vec!["consistency", "--from", &from, "--to", &to, "--old-root", &old_root];
    args.extend(["--new-root", &root]);
    args.extend(consistency.iter().map(String::as_str));
    assert_eq!(run(&args).0, Some(0), "the consistency proof verifies");
    std::fs::remove_dir_all(&dir).ok();
}

async fn the_server_signs_a_checkpoint_soon_after_the_log_grows(app: TestApp) {
    let app = crate::helpers::spawn_configured(app.backend, |config| {
        config.http.checkpoint_interval = std::time::Duration::from_millis(20);
    })
    .await
    .unwrap();
    let token = app.editor().await;
    app.document_with_history(&token, "signed-soon", 2).await;
    let started = std::time::Instant::now();
    loop {
        let body = app.query("{ transparencyLog { size checkpoint } }", json!({})).await;
        if body["data"]["transparencyLog"]["size"] == 2 {
            let key = VerifierKey::parse(&app.log_key.verifier_key()).unwrap();
            let note = body["data"]["transparencyLog"]["checkpoint"].as_str().unwrap();
            assert_eq!(rfc9162::open_checkpoint(note, &key).unwrap().size, 2);
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "no checkpoint of the grown log: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Two stores on one database (two server processes) and a transaction that rolls back: each
/// store's remembered right edge of the tree is only ever used for the size it was made at.
async fn appends_from_other_stores_and_rolled_back_transactions_leave_one_tree(app: TestApp) {
    use palimpsest::store::{
        Actor, AgentKind, AgentName, CreateDocument, DocumentKind, Message, Slug, Store,
        StoreLimits, Title,
    };
    let other = Store::new(
        palimpsest::store::connect(&app.database_url).await.unwrap(),
        StoreLimits::default(),
    );
    let name = AgentName::parse("Two Processes").unwrap();
    let actor =
        Actor::agent(app.store.create_agent(&name, AgentKind::Person, None).await.unwrap().id);
    let input = |slug: &str| CreateDocument {
        slug: Slug::parse(slug).unwrap(),
        kind: DocumentKind::Other,
        title: Title::parse("T").unwrap(),
        content: format!("{slug}\n"),
        message: Message::parse("m").unwrap(),
        source: None,
        placement: palimpsest::store::Placement::PUBLIC,
    };
    let mut written = Vec::new();
    for (i, store) in
        [&app.store, &other, &app.store, &app.store, &other, &app.store].iter().enumerate()
    {
        written.push(
            store.create_document(input(&format!("doc-{i}")), &actor).await.unwrap().revision.hash,
        );
        if i == 2 {
            // Appended, then rolled back: the leaf it took is given again.
            let transaction = app.store.begin().await.unwrap();
            transaction.create_document(input("rolled-back"), &actor).await.unwrap();
            drop(transaction);
        }
    }
    let leaves: Vec<Hash> = written.iter().map(|h| rfc9162::hex32(h.hex()).unwrap()).collect();
    let tree = signed_tree(&app, 6).await;
    assert_eq!(tree.root, rfc9162::tree_hash(&leaves));
    let budget = palimpsest::budget::Budget::unlimited();
    let verified = other.verify_log(None, &[], &budget, &|_| {}).await.unwrap();
    assert!(verified.report.is_clean(), "{:?}", verified.report.problems);
}

/// Nodes that sign one log without a leader: with the log's key, whichever signs, each size is
/// one checkpoint and every checkpoint opens with that key; a node with another key signs
/// nothing (CONFLICT) until that key takes the log over, after which the old one signs nothing.
async fn nodes_sharing_the_log_key_sign_one_checkpoint_per_size_and_another_key_signs_nothing(
    app: TestApp,
) {
    use palimpsest::checkpoint::LogKey;
    use palimpsest::store::{Conflict, DatabaseTimeouts, Store, StoreError, StoreLimits};
    let node = |_: usize| async {
        let db = palimpsest::store::connect_with(&app.database_url, DatabaseTimeouts::default())
            .await
            .unwrap();
        Store::new(db, StoreLimits::default())
    };
    let (first, second) = (node(1).await, node(2).await);
    let key = app.log_key.clone();
    let editor = app.editor().await;
    let created = app.create_document(&editor, "signed-by-many", "one").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["document"]["head"]["hash"].as_str().unwrap().to_owned();
    for round in 0..5 {
        let body = app.revise(&editor, &id, &head, &format!("text {round}")).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["document"]["head"]["hash"].as_str().unwrap().into();
        let (a, b) = tokio::join!(first.sign_checkpoint(&key), second.sign_checkpoint(&key));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.size, a.root, &a.note), (b.size, b.root, &b.note), "one checkpoint per size");
    }
    let notes = |store: Store| async move {
        let rows = store
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                store.connection().get_database_backend(),
                "SELECT size, note FROM log_checkpoints ORDER BY size",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (r.try_get::<i64>("", "size").unwrap(), r.try_get::<String>("", "note").unwrap())
            })
            .collect::<Vec<_>>()
    };
    let signed = notes(first.clone()).await;
    assert!(signed.iter().all(|(_, note)| key.open(note).is_ok()), "all the log key's");

    let other = LogKey::generate(key.name()).unwrap();
    let body = app.revise(&editor, &id, &head, "grown").await;
    assert_no_errors(&body);
    match second.sign_checkpoint(&other).await {
        Err(StoreError::Conflict(Conflict::LogKeyDiffers { size })) => {
            assert_eq!(size as i64, signed.last().unwrap().0);
        }
        other => panic!("another key must sign nothing: {other:?}"),
    }
    assert_eq!(notes(first.clone()).await, signed, "nothing stored for the other key");

    // Taken over, the other key is the log's: the old one signs nothing more.
    let taken = second.take_over_log(&other).await.unwrap();
    assert!(other.open(&taken.note).is_ok());
    assert!(matches!(
        first.sign_checkpoint(&key).await,
        Err(StoreError::Conflict(Conflict::LogKeyDiffers { .. }))
    ));
    let again = second.sign_checkpoint(&other).await.unwrap();
    assert_eq!(again.note, taken.note, "the log has not grown: the same checkpoint");
}
