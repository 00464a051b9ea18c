//! The committed SDL is what the code generates. Regenerate it with
//! `cargo run -- schema > schema/schema.graphql`.

#[test]
fn the_committed_schema_is_up_to_date() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql"))
            .expect("schema/schema.graphql exists");
    let generated = palimpsest::graphql::sdl();
    assert!(
        committed == generated,
        "schema/schema.graphql is stale: run `cargo run -- schema > schema/schema.graphql`"
    );
}
