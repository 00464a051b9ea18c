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

/// graphql-js's rules, as graphql-core (its Python port) applies them to the committed SDL: a
/// query selecting the title of whatever a node is validates with `Source.sourceTitle`, and
/// the deprecated `Source.title` is marked so.
#[test]
#[cfg_attr(palimpsest_no_graphql_core, ignore = "needs python3 with graphql-core")]
fn the_schema_passes_graphql_js_validation_for_titles_of_any_node() {
    let script = r#"
import sys
from graphql import build_schema, parse, validate
schema = build_schema(open(sys.argv[1]).read())
ok = 'query($id: ID!) { node(id: $id) { ... on Document { title } ... on Source { sourceTitle } } }'
errors = validate(schema, parse(ok))
assert not errors, [e.message for e in errors]
clash = 'query($id: ID!) { node(id: $id) { ... on Document { title } ... on Source { title } } }'
assert validate(schema, parse(clash)), "the deprecated field still conflicts, as documented"
field = schema.get_type('Source').fields['title']
assert field.deprecation_reason and 'sourceTitle' in field.deprecation_reason
"#;
    let sdl = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let output = std::process::Command::new("python3").args(["-c", script, sdl]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
