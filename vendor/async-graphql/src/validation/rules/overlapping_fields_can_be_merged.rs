//! Field Selection Merging (GraphQL spec 5.3.2, `FieldsInSetCanMerge`), as graphql-js checks
//! it and with its messages: fields that share a response name must be the same field with
//! the same arguments when they can apply to the same object, and must have the same response
//! shape (nullability, lists, leaf types, and recursively their subfields) in any case.
//!
//! A field repeated (through fragments, or as written) is compared once, not with each of its
//! copies; and the comparisons one document may cost are bounded (`MAX_COMPARISONS`): past
//! that, the document is refused rather than checked for longer.

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::{
    Pos, Positioned,
    parser::types::{Field, Selection, SelectionSet},
    registry::{MetaType, MetaTypeName, Registry},
    validation::visitor::{Visitor, VisitorContext},
};

/// Pairs of fields one document may have compared: fields sharing response names are compared
/// pairwise, which thousands of near-copies would make quadratic.
const MAX_COMPARISONS: usize = 100_000;

/// Conflicts reported per selection set: enough to fix a query by, and no list that grows with
/// the square of its fields.
const MAX_REPORTED: usize = 50;

#[derive(Default)]
pub struct OverlappingFieldsCanBeMerged {
    /// Comparisons left; `None` once spent (and said).
    left: Option<usize>,
    spent: bool,
}

impl<'a> Visitor<'a> for OverlappingFieldsCanBeMerged {
    fn enter_selection_set(
        &mut self,
        ctx: &mut VisitorContext<'a>,
        selection_set: &'a Positioned<SelectionSet>,
    ) {
        let Some(parent) = ctx.current_type() else {
            return;
        };
        if self.spent {
            return;
        }
        let mut left = self.left.unwrap_or(MAX_COMPARISONS);
        let mut fields = IndexMap::new();
        collect(ctx, parent, selection_set, &mut fields, &mut HashSet::new());
        let mut found = Vec::new();
        'groups: for (response_name, entries) in &fields {
            let entries = distinct(entries);
            for (i, a) in entries.iter().enumerate() {
                for b in &entries[i + 1..] {
                    match conflict(ctx, a, b, false, &mut left) {
                        Ok(Some(reason)) => {
                            found.push((response_name.to_string(), reason, a.field.pos, b.field.pos));
                            if found.len() == MAX_REPORTED {
                                break 'groups;
                            }
                        }
                        Ok(None) => {}
                        Err(Spent) => {
                            self.spent = true;
                            ctx.report_error(
                                vec![selection_set.pos],
                                "The query has too many fields sharing response names to check \
                                 that they can merge: give them different aliases, or send fewer",
                            );
                            break 'groups;
                        }
                    }
                }
            }
        }
        self.left = Some(left);
        for (response_name, reason, a, b) in found {
            report(ctx, &response_name, &reason, vec![a, b]);
        }
    }
}

/// One field as selected: the type it was selected on and its definition there.
#[derive(Clone, Copy)]
struct Entry<'a> {
    parent: &'a MetaType,
    field: &'a Positioned<Field>,
    /// The field's type (`String!`, `[Revision!]!`), when the field exists.
    ty: Option<&'a str>,
}

impl Entry<'_> {
    /// The same leaf field, written again: it merges with whatever its copy merges with.
    /// (Fields with subselections are kept: their subfields may differ.)
    fn is_copy_of(&self, other: &Entry<'_>) -> bool {
        std::ptr::eq(self.field, other.field)
            || (self.parent.name() == other.parent.name()
                && self.field.node.name.node == other.field.node.name.node
                && self.field.node.selection_set.node.items.is_empty()
                && other.field.node.selection_set.node.items.is_empty()
                && same_arguments(&self.field.node, &other.field.node))
    }
}

/// The comparisons a document may cost were spent.
struct Spent;

/// The entries without their copies.
fn distinct<'a>(entries: &[Entry<'a>]) -> Vec<Entry<'a>> {
    let mut kept: Vec<Entry<'a>> = Vec::new();
    for entry in entries {
        if !kept.iter().any(|k| k.is_copy_of(entry)) {
            kept.push(*entry);
        }
    }
    kept
}

/// Why two fields cannot merge, as graphql-js says it.
enum Reason {
    Message(String),
    Subfields(Vec<(String, Reason)>),
}

fn message(reason: &Reason) -> String {
    match reason {
        Reason::Message(text) => text.clone(),
        Reason::Subfields(subfields) => subfields
            .iter()
            .map(|(name, reason)| {
                format!("subfields \"{name}\" conflict because {}", message(reason))
            })
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

fn report(ctx: &mut VisitorContext<'_>, response_name: &str, reason: &Reason, at: Vec<Pos>) {
    ctx.report_error(
        at,
        format!(
            "Fields \"{response_name}\" conflict because {}. Use different aliases on the fields to fetch both if this was intentional.",
            message(reason)
        ),
    );
}

/// The fields of a selection set by response name, through its fragments (each fragment once:
/// cycles are `NoFragmentCycles`'s to report).
fn collect<'a>(
    ctx: &VisitorContext<'a>,
    parent: &'a MetaType,
    selection_set: &'a Positioned<SelectionSet>,
    out: &mut IndexMap<&'a str, Vec<Entry<'a>>>,
    visited: &mut HashSet<&'a str>,
) {
    for selection in &selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let ty = if name == "__typename" {
                    Some("String!")
                } else {
                    parent.field_by_name(name).map(|f| f.ty.as_str())
                };
                out.entry(field.node.response_key().node.as_str())
                    .or_default()
                    .push(Entry { parent, field, ty });
            }
            Selection::InlineFragment(fragment) => {
                let on = match &fragment.node.type_condition {
                    Some(cond) => ctx.registry.types.get(cond.node.on.node.as_str()),
                    None => Some(parent),
                };
                if let Some(on) = on {
                    collect(ctx, on, &fragment.node.selection_set, out, visited);
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if !visited.insert(name) {
                    continue;
                }
                if let Some(fragment) = ctx.fragment(name)
                    && let Some(on) =
                        ctx.registry.types.get(fragment.node.type_condition.node.on.node.as_str())
                {
                    collect(ctx, on, &fragment.node.selection_set, out, visited);
                }
            }
        }
    }
}

fn same_arguments(a: &Field, b: &Field) -> bool {
    a.arguments.len() == b.arguments.len()
        && a.arguments.iter().all(|(name, value)| {
            b.get_argument(&name.node).is_some_and(|other| other.node == value.node)
        })
}

/// Why `a` and `b` cannot share a response name, if they cannot. `exclusive`: their parents
/// can never be the same object (fields of different object types, or below such fields).
fn conflict(
    ctx: &VisitorContext<'_>,
    a: &Entry<'_>,
    b: &Entry<'_>,
    exclusive: bool,
    left: &mut usize,
) -> Result<Option<Reason>, Spent> {
    if std::ptr::eq(a.field, b.field) {
        return Ok(None);
    }
    *left = left.checked_sub(1).ok_or(Spent)?;
    let exclusive = exclusive
        || (a.parent.name() != b.parent.name()
            && matches!(a.parent, MetaType::Object { .. })
            && matches!(b.parent, MetaType::Object { .. }));
    let (name_a, name_b) = (a.field.node.name.node.as_str(), b.field.node.name.node.as_str());
    if !exclusive {
        if name_a != name_b {
            return Ok(Some(Reason::Message(format!(
                "\"{name_a}\" and \"{name_b}\" are different fields"
            ))));
        }
        if !same_arguments(&a.field.node, &b.field.node) {
            return Ok(Some(Reason::Message("they have differing arguments".to_string())));
        }
    }
    if let (Some(ty_a), Some(ty_b)) = (a.ty, b.ty)
        && !same_shape(ctx.registry, ty_a, ty_b)
    {
        return Ok(Some(Reason::Message(format!(
            "they return conflicting types \"{ty_a}\" and \"{ty_b}\""
        ))));
    }
    let (sub_a, sub_b) = (&a.field.node.selection_set, &b.field.node.selection_set);
    if sub_a.node.items.is_empty() || sub_b.node.items.is_empty() {
        return Ok(None);
    }
    let (Some(type_a), Some(type_b)) = (
        a.ty.and_then(|ty| ctx.registry.types.get(MetaTypeName::concrete_typename(ty))),
        b.ty.and_then(|ty| ctx.registry.types.get(MetaTypeName::concrete_typename(ty))),
    ) else {
        return Ok(None);
    };
    let (mut fields_a, mut fields_b) = (IndexMap::new(), IndexMap::new());
    collect(ctx, type_a, sub_a, &mut fields_a, &mut HashSet::new());
    collect(ctx, type_b, sub_b, &mut fields_b, &mut HashSet::new());
    let mut subfields = Vec::new();
    for (response_name, entries_a) in &fields_a {
        let Some(entries_b) = fields_b.get(response_name) else {
            continue;
        };
        let (entries_a, entries_b) = (distinct(entries_a), distinct(entries_b));
        'pairs: for x in &entries_a {
            for y in &entries_b {
                if let Some(reason) = conflict(ctx, x, y, exclusive, left)? {
                    subfields.push((response_name.to_string(), reason));
                    break 'pairs;
                }
            }
        }
    }
    Ok((!subfields.is_empty()).then_some(Reason::Subfields(subfields)))
}

/// `SameResponseShape` on the types alone: the same wrapping of non-null and list, and the
/// same leaf type where either is a leaf (composite types are compared by their subfields).
fn same_shape(registry: &Registry, a: &str, b: &str) -> bool {
    match (MetaTypeName::create(a), MetaTypeName::create(b)) {
        (MetaTypeName::NonNull(a), MetaTypeName::NonNull(b)) => same_shape(registry, a, b),
        (MetaTypeName::NonNull(_), _) | (_, MetaTypeName::NonNull(_)) => false,
        (MetaTypeName::List(a), MetaTypeName::List(b)) => same_shape(registry, a, b),
        (MetaTypeName::List(_), _) | (_, MetaTypeName::List(_)) => false,
        (MetaTypeName::Named(a), MetaTypeName::Named(b)) => {
            let leaf = |name: &str| registry.types.get(name).is_some_and(MetaType::is_leaf);
            if leaf(a) || leaf(b) { a == b } else { true }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn factory() -> OverlappingFieldsCanBeMerged {
        OverlappingFieldsCanBeMerged::default()
    }

    #[test]
    fn same_field_on_different_type() {
        expect_passes_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                doesKnowCommand(dogCommand: SIT)
            }
            ... on Cat {
                doesKnowCommand(catCommand: JUMP)
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn same_field_on_same_type() {
        expect_fails_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                doesKnowCommand(dogCommand: SIT)
            }
            ... on Dog {
                doesKnowCommand(dogCommand: Heel)
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn same_alias_on_different_type() {
        expect_passes_rule!(
            factory,
            r#"
          {
           pet {
            ... on Dog {
                volume: barkVolume
            }
            ... on Cat {
                volume: meowVolume
            }
           }
          }
        "#,
        );
    }

    #[test]
    fn different_fields_under_one_alias_on_one_type() {
        expect_fails_rule!(
            factory,
            r#"
          {
           dog {
            name: nickname
            name
           }
          }
        "#,
        );
    }
}
