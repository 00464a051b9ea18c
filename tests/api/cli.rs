//! The `palimpsest` command as a script would use it.

use std::process::Command;

fn palimpsest(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("RUST_LOG")
        .output()
        .expect("run palimpsest")
}

#[test]
fn token_create_prints_the_token_alone_and_seed_is_idempotent() {
    let path =
        std::env::temp_dir().join(format!("palimpsest-cli-{}.db", uuid::Uuid::now_v7().simple()));
    let db = format!("sqlite://{}", path.display());

    let output =
        palimpsest(&db, &["token", "create", "--agent", "Ada Archivist", "--role", "editor"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {stdout:?}");
    assert!(lines[0].starts_with("pal_") && lines[0].len() > 40);

    let output =
        palimpsest(&db, &["token", "create", "--agent", "Ada Archivist", "--role", "owner"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("role"));

    for expected in ["1 created, 0 already present", "0 created, 1 already present"] {
        let output = palimpsest(&db, &["seed"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stderr).contains(expected));
    }

    let output = palimpsest(&db, &["schema"]);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), palimpsest::graphql::sdl());

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
