//! Diffs between revisions: every granularity on article-like text, the unified diff applied
//! by GNU patch and git apply, and bad input.

use std::process::Command;

use expect_test::expect;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    schema:
    word_diffs_of_an_edited_article_show_the_changed_words,
    char_and_line_diffs_cover_non_ascii_and_empty_texts,
    unified_diffs_apply_with_patch_and_git_byte_for_byte,
    diffs_across_documents_and_bad_diff_input,
);

const DIFF: &str = "query($from: String!, $to: String!, $g: DiffGranularity, $c: Int) {
  diff(from: $from, to: $to, granularity: $g, context: $c) {
    granularity fellBack unified stats { insertions deletions similarity }
    from { hash } to { hash }
    hunks { oldStart oldLength newStart newLength changes { op text } }
  } }";

const ARTICLE: &str = "550 Ex-Mossad and Shin Bet Chiefs Urge Trump to End the War\n\
Every former chief still alive has begged for an end to the military action\n\
More than 550 former Israeli security officials have taken the extraordinary step of appealing directly to Donald Trump.\n\
The letter, sent in recent days, warns that Hamas no longer poses a strategic threat.\n\
It is unclear whether Trump will respond.\n";

fn edited_article() -> String {
    ARTICLE
        .replace("sent in recent days", "sent last week")
        .replace("It is unclear whether Trump will respond.\n", "Trump has not responded.\n")
}

async fn revise_to(app: &TestApp, token: &str, slug: &str, texts: &[&str]) -> Vec<String> {
    let created = app.create_document(token, slug, texts[0]).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut hashes = vec![created["revision"]["hash"].as_str().unwrap().to_owned()];
    for text in &texts[1..] {
        let body = app.revise(token, &id, hashes.last().unwrap(), text).await;
        assert_no_errors(&body);
        hashes
            .push(body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned());
    }
    hashes
}

async fn diff(app: &TestApp, from: &str, to: &str, granularity: &str) -> Value {
    let body = app.query(DIFF, json!({ "from": from, "to": to, "g": granularity })).await;
    assert_no_errors(&body);
    body["data"]["diff"].clone()
}

fn side(diff: &Value, keep: &str) -> String {
    diff["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["changes"].as_array().unwrap())
        .filter(|c| c["op"] == "EQUAL" || c["op"] == keep)
        .map(|c| c["text"].as_str().unwrap())
        .collect()
}

/// A diff's hunks as a reader scans them: a hunk's header, then a change a line.
fn changes(diff: &Value) -> String {
    let mut out = String::new();
    for hunk in diff["hunks"].as_array().unwrap() {
        let at = |k: &str| hunk[k].as_i64().unwrap();
        out += &format!(
            "@@ -{},{} +{},{} @@\n",
            at("oldStart"),
            at("oldLength"),
            at("newStart"),
            at("newLength")
        );
        for change in hunk["changes"].as_array().unwrap() {
            let (op, text) = (change["op"].as_str().unwrap(), change["text"].as_str().unwrap());
            out += &format!("{op:>6} {text:?}\n");
        }
    }
    out
}

fn has_change(diff: &Value, op: &str, text: &str) -> bool {
    diff["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["changes"].as_array().unwrap())
        .any(|c| c["op"] == op && c["text"] == text)
}

async fn word_diffs_of_an_edited_article_show_the_changed_words(app: TestApp) {
    let token = app.editor().await;
    let edited = edited_article();
    let hashes = revise_to(&app, &token, "article", &[ARTICLE, &edited]).await;
    let word = diff(&app, &hashes[0], &hashes[1], "WORD").await;
    assert_eq!(word["granularity"], "WORD");
    assert_eq!(word["fellBack"], false);
    // Words keep their punctuation; the unchanged "Trump" inside a rewritten sentence stays.
    assert!(has_change(&word, "DELETE", "in recent days,"), "{word:#}");
    assert!(has_change(&word, "INSERT", "last week,"), "{word:#}");
    assert!(has_change(&word, "EQUAL", "Trump "), "{word:#}");
    assert_eq!(side(&word, "DELETE"), ARTICLE);
    assert_eq!(side(&word, "INSERT"), edited);
    expect![[r#"
        @@ -1,5 +1,5 @@
         EQUAL "550 Ex-Mossad and Shin Bet Chiefs Urge Trump to End the War\n"
         EQUAL "Every former chief still alive has begged for an end to the military action\n"
         EQUAL "More than 550 former Israeli security officials have taken the extraordinary step of appealing directly to Donald Trump.\nThe letter, sent "
        DELETE "in recent days,"
        INSERT "last week,"
         EQUAL " warns that Hamas no longer poses a strategic threat.\n"
        DELETE "It is unclear whether "
         EQUAL "Trump "
        DELETE "will respond."
        INSERT "has not responded."
         EQUAL "\n"
    "#]].assert_eq(&changes(&word));
    assert_eq!(word["stats"]["insertions"], 5);
    assert_eq!(word["stats"]["deletions"], 9);
    let similarity = word["stats"]["similarity"].as_f64().unwrap();
    assert!(similarity > 0.8 && similarity < 1.0, "{similarity}");

    let line = diff(&app, &hashes[0], &hashes[1], "LINE").await;
    assert_eq!(line["stats"]["insertions"], 2);
    assert_eq!(line["stats"]["deletions"], 2);
    assert_eq!(line["hunks"][0]["oldStart"], 1);
    assert_eq!(line["hunks"][0]["oldLength"], 5);
    assert_eq!(line["hunks"][0]["newLength"], 5);
    expect![[r#"
        --- a/article
        +++ b/article
        @@ -1,5 +1,5 @@
         550 Ex-Mossad and Shin Bet Chiefs Urge Trump to End the War
         Every former chief still alive has begged for an end to the military action
         More than 550 former Israeli security officials have taken the extraordinary step of appealing directly to Donald Trump.
        -The letter, sent in recent days, warns that Hamas no longer poses a strategic threat.
        -It is unclear whether Trump will respond.
        +The letter, sent last week, warns that Hamas no longer poses a strategic threat.
        +Trump has not responded.
    "#]].assert_eq(line["unified"].as_str().unwrap());

    // Revision.diff defaults to the parent, and a first revision diffs against nothing.
    let body = app
        .query(
            "query($h: String!) { revision(hash: $h) { diff(granularity: WORD) { to { hash } stats { insertions } }
               parent { diff { from { hash } stats { insertions deletions similarity } unified } } } }",
            json!({ "h": hashes[1] }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["revision"]["diff"]["stats"]["insertions"], 5);
    let first = &body["data"]["revision"]["parent"]["diff"];
    assert_eq!(first["from"], json!(null));
    assert_eq!(first["stats"]["insertions"], 5);
    assert_eq!(first["stats"]["deletions"], 0);
    assert_eq!(first["stats"]["similarity"], 0.0);
    assert!(first["unified"].as_str().unwrap().contains("@@ -0,0 +1,5 @@"));
}

async fn char_and_line_diffs_cover_non_ascii_and_empty_texts(app: TestApp) {
    let token = app.editor().await;
    let hashes = revise_to(
        &app,
        &token,
        "accents",
        &["Zitat: «Ende» — naïve café\n", "Zitat: «Anfang» — naive café ☕\n", ""],
    )
    .await;
    let chars = diff(&app, &hashes[0], &hashes[1], "CHAR").await;
    assert_eq!(side(&chars, "DELETE"), "Zitat: «Ende» — naïve café\n");
    assert_eq!(side(&chars, "INSERT"), "Zitat: «Anfang» — naive café ☕\n");
    assert!(has_change(&chars, "DELETE", "ï") || has_change(&chars, "DELETE", "ïve"), "{chars:#}");
    assert!(chars["stats"]["insertions"].as_u64().unwrap() >= 3);

    let emptied = diff(&app, &hashes[1], &hashes[2], "WORD").await;
    assert_eq!(side(&emptied, "INSERT"), "");
    assert_eq!(emptied["stats"]["insertions"], 0);
    assert_eq!(emptied["stats"]["deletions"], 6);
    assert_eq!(emptied["stats"]["similarity"], 0.0);

    let same = diff(&app, &hashes[2], &hashes[2], "CHAR").await;
    assert_eq!(same["hunks"], json!([]));
    assert_eq!(same["unified"], "");
    assert_eq!(same["stats"]["similarity"], 1.0);
}

/// Applies `unified` to `old` with GNU patch and with git apply; both must give `new`.
fn apply_everywhere(slug: &str, old: &str, new: &str, unified: &str) {
    let dir =
        std::env::temp_dir().join(format!("palimpsest-patch-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let patch_file = dir.join("change.diff");
    std::fs::write(&patch_file, unified).unwrap();
    let target = dir.join(slug);

    std::fs::write(&target, old).unwrap();
    let out = Command::new("patch")
        .arg("--quiet")
        .arg(&target)
        .arg(&patch_file)
        .output()
        .expect("GNU patch is installed");
    assert!(
        out.status.success(),
        "patch failed for {old:?} -> {new:?}: {}{}\n{unified}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        new,
        "patch: {old:?} -> {new:?}\n{unified}"
    );

    std::fs::write(&target, old).unwrap();
    let out = Command::new("git")
        .current_dir(&dir)
        .args(["apply", "--unidiff-zero"])
        .arg(&patch_file)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git apply failed for {old:?} -> {new:?}: {}\n{unified}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied = std::fs::read_to_string(&target).unwrap_or_default();
    assert_eq!(applied, new, "git apply: {old:?} -> {new:?}\n{unified}");
    std::fs::remove_dir_all(&dir).ok();
}

async fn unified_diffs_apply_with_patch_and_git_byte_for_byte(app: TestApp) {
    let token = app.editor().await;
    let edited = edited_article();
    let cases: Vec<(&str, &str)> = vec![
        (ARTICLE, &edited),
        ("line one\nline two\n", "line one\nline two"),
        ("line one\nline two", "line one\nline two\n"),
        ("no newline", "still no newline"),
        ("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nB\nc\nd\ne\nf\ng\nh\nI\nj\nk\n"),
        ("crlf line\r\nsecond\r\n", "crlf line\r\nchanged\r\n"),
        ("", "from nothing\n"),
        ("to nothing\n", ""),
    ];
    for (i, (old, new)) in cases.into_iter().enumerate() {
        let slug = format!("patch-case-{i}");
        let hashes = revise_to(&app, &token, &slug, &[old, new]).await;
        for context in [3, 0] {
            let body =
                app.query(DIFF, json!({ "from": hashes[0], "to": hashes[1], "c": context })).await;
            assert_no_errors(&body);
            let unified = body["data"]["diff"]["unified"].as_str().unwrap();
            assert!(unified.starts_with(&format!("--- a/{slug}\n+++ b/{slug}\n")), "{unified}");
            apply_everywhere(&slug, old, new, unified);
        }
    }
}

async fn diffs_across_documents_and_bad_diff_input(app: TestApp) {
    let token = app.editor().await;
    let source = revise_to(
        &app,
        &token,
        "source-letter",
        &["We, the undersigned, urge an end to the war.\n"],
    )
    .await;
    let quote =
        revise_to(&app, &token, "quoting-article", &["They urge an end to the war now.\n"]).await;
    let across = diff(&app, &source[0], &quote[0], "WORD").await;
    assert_eq!(across["from"]["hash"], source[0]);
    assert_eq!(across["to"]["hash"], quote[0]);
    assert!(
        across["unified"]
            .as_str()
            .unwrap()
            .starts_with("--- a/source-letter\n+++ b/quoting-article\n")
    );

    let unknown = "0".repeat(64);
    let body = app.query(DIFF, json!({ "from": unknown, "to": quote[0] })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app.query(DIFF, json!({ "from": quote[0], "to": "nothex" })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    for context in [-1, 1001] {
        let body =
            app.query(DIFF, json!({ "from": source[0], "to": quote[0], "c": context })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "context {context}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("context"));
    }
    let body = app.query(DIFF, json!({ "from": source[0], "to": quote[0], "g": "SENTENCE" })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .query(
            "query($h: String!) { revision(hash: $h) { diff(against: \"abc\") { unified } } }",
            json!({ "h": quote[0] }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}
