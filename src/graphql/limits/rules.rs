//! Validation rules of the GraphQL specification that async-graphql does not check, held to
//! graphql-js's wording so that clients see the message their tooling would give. Run on a
//! document already measured within the limits, so walking its fragments is bounded.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

/// Spec 5.2.3.1, Single Root Field: a subscription selects exactly one field at its root,
/// fragments included, and not an introspection field. A subscription with two root fields
/// would run two streams under one request's cost and one event's budget.
pub fn single_root_field(document: &ExecutableDocument) -> Result<(), String> {
    for (name, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Subscription {
            continue;
        }
        let mut keys = Vec::new();
        root_fields(document, &operation.node.selection_set.node, &mut HashSet::new(), &mut keys);
        let subject = match name {
            Some(name) => format!("Subscription \"{name}\""),
            None => "Anonymous Subscription".to_owned(),
        };
        let distinct: HashSet<&(String, String)> = keys.iter().collect();
        if distinct.iter().map(|(key, _)| key).collect::<HashSet<_>>().len() > 1 {
            return Err(format!("{subject} must select only one top level field."));
        }
        if keys.iter().any(|(_, field)| field.starts_with("__")) {
            return Err(format!("{subject} must not select an introspection top level field."));
        }
    }
    Ok(())
}

/// The response keys and field names selected at the root of `set`, through fragments.
fn root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    visited: &mut HashSet<&'a str>,
    keys: &mut Vec<(String, String)>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.alias.as_ref().unwrap_or(&field.name);
                keys.push((key.node.to_string(), field.name.node.to_string()));
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if visited.insert(name)
                    && let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                {
                    root_fields(document, &fragment.node.selection_set.node, visited, keys);
                }
            }
            Selection::InlineFragment(inline) => {
                root_fields(document, &inline.node.selection_set.node, visited, keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<(), String> {
        single_root_field(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn a_subscription_selects_one_root_field_as_graphql_js_requires() {
        assert_eq!(check("subscription { a { b } }"), Ok(()));
        assert_eq!(check("subscription S { a { b } a { c } }"), Ok(()));
        assert_eq!(check("query { a b }"), Ok(()));
        assert_eq!(
            check("subscription { a b }"),
            Err("Anonymous Subscription must select only one top level field.".into())
        );
        assert_eq!(
            check("subscription S { x: a y: a }"),
            Err("Subscription \"S\" must select only one top level field.".into())
        );
        assert_eq!(
            check(
                "subscription S { ...F ... on Subscription { b } } fragment F on Subscription { a }"
            ),
            Err("Subscription \"S\" must select only one top level field.".into())
        );
        assert_eq!(
            check("subscription S { __typename }"),
            Err("Subscription \"S\" must not select an introspection top level field.".into())
        );
    }
}
