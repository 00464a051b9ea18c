//! Whether the PostgreSQL half of the tests can run is known when they are built: without
//! `PALIMPSEST_TEST_POSTGRES_URL` they are marked ignored, with that reason, so the summary of
//! `cargo test` counts them as skipped instead of passing them without running.

fn main() {
    println!("cargo::rerun-if-env-changed=PALIMPSEST_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(palimpsest_no_postgres)");
    if std::env::var_os("PALIMPSEST_TEST_POSTGRES_URL").is_none() {
        println!("cargo::rustc-cfg=palimpsest_no_postgres");
    }
}
