//! The shape of a parsed query with every fragment spread expanded, computed without expanding
//! anything: each fragment is measured once and its measure reused wherever it is spread. A
//! 1 KB document whose fragments spread each other twice per level describes millions of
//! fields; it is measured in microseconds and refused before validation, which (like
//! execution) would walk every one of them.

use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::Positioned;
use async_graphql::parser::types::{
    Directive, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql_value::ConstValue;

/// Sizes of a document after fragment expansion. Counts saturate rather than overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentShape {
    /// Field selections, `__typename` included, in the operations and in each fragment
    /// definition (validation walks both).
    pub fields: u64,
    pub aliases: u64,
    pub directives: u64,
    /// The deepest nesting of fields (a field without a selection set is depth 1).
    pub depth: u64,
    /// The deepest nesting of selection sets, fragments included.
    pub nesting: u64,
    /// The deepest nesting of lists and objects in an argument or default value.
    pub value_depth: u64,
    /// What the introspection fields cost: their answers are built in one go, far larger
    /// than their one point each in the schema's cost would say.
    pub introspection_cost: u64,
}

/// The cost of one `__schema` selection: the whole schema, described.
pub const SCHEMA_INTROSPECTION_COST: u64 = 1000;
/// The cost of one `__type` selection.
pub const TYPE_INTROSPECTION_COST: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A fragment that spreads itself, directly or through others.
    FragmentCycle(String),
    /// Selection sets nest deeper than the limit given (counting fragment spreads), so
    /// measuring stopped there.
    TooNested(u64),
}

impl DocumentShape {
    fn then(self, other: DocumentShape) -> DocumentShape {
        DocumentShape {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            directives: self.directives.saturating_add(other.directives),
            depth: self.depth.max(other.depth),
            nesting: self.nesting.max(other.nesting),
            value_depth: self.value_depth.max(other.value_depth),
            introspection_cost: self.introspection_cost.saturating_add(other.introspection_cost),
        }
    }
}

enum Memo {
    InProgress,
    Done(DocumentShape),
}

struct Measure<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    memo: HashMap<&'a str, Memo>,
    max_nesting: u64,
}

/// Measures `document`. Stops with `TooNested` past `max_nesting` levels of selection sets,
/// so that its own recursion stays bounded.
pub fn measure(
    document: &ExecutableDocument,
    max_nesting: u64,
) -> Result<DocumentShape, ShapeError> {
    let mut measure = Measure { fragments: &document.fragments, memo: HashMap::new(), max_nesting };
    let mut total = DocumentShape::default();
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        let mut shape = measure.selection_set(&operation.selection_set.node, 1)?;
        shape = shape.then(directives(&operation.directives));
        for variable in &operation.variable_definitions {
            if let Some(default) = &variable.node.default_value {
                let depth = const_value_depth(&default.node);
                shape = shape.then(DocumentShape { value_depth: depth, ..Default::default() });
            }
        }
        total = total.then(shape);
    }
    for name in document.fragments.keys() {
        total = total.then(measure.fragment(name.as_str(), 1)?);
    }
    Ok(total)
}

impl<'a> Measure<'a> {
    fn fragment(&mut self, name: &'a str, level: u64) -> Result<DocumentShape, ShapeError> {
        match self.memo.get(name) {
            Some(Memo::Done(shape)) => return Ok(*shape),
            Some(Memo::InProgress) => return Err(ShapeError::FragmentCycle(name.to_owned())),
            None => {}
        }
        // A spread of an unknown fragment measures as nothing; validation names it.
        let Some(definition) = self.fragments.get(name) else { return Ok(Default::default()) };
        self.memo.insert(name, Memo::InProgress);
        let mut shape = self.selection_set(&definition.node.selection_set.node, level)?;
        shape = shape.then(directives(&definition.node.directives));
        self.memo.insert(name, Memo::Done(shape));
        Ok(shape)
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        level: u64,
    ) -> Result<DocumentShape, ShapeError> {
        if level > self.max_nesting {
            return Err(ShapeError::TooNested(self.max_nesting));
        }
        let mut items = DocumentShape::default();
        for item in &set.items {
            let item_shape = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let inner = if field.selection_set.node.items.is_empty() {
                        DocumentShape::default()
                    } else {
                        self.selection_set(&field.selection_set.node, level + 1)?
                    };
                    let value_depth = field
                        .arguments
                        .iter()
                        .map(|(_, value)| value_depth(&value.node))
                        .max()
                        .unwrap_or(0);
                    let introspection_cost = match field.name.node.as_str() {
                        "__schema" => SCHEMA_INTROSPECTION_COST,
                        "__type" => TYPE_INTROSPECTION_COST,
                        _ => 0,
                    };
                    let own = DocumentShape {
                        fields: 1,
                        aliases: u64::from(field.alias.is_some()),
                        value_depth,
                        introspection_cost,
                        ..Default::default()
                    };
                    DocumentShape { depth: 1 + inner.depth, ..inner }
                        .then(own)
                        .then(directives(&field.directives))
                }
                Selection::FragmentSpread(spread) => self
                    .fragment(spread.node.fragment_name.node.as_str(), level + 1)?
                    .then(directives(&spread.node.directives)),
                Selection::InlineFragment(inline) => self
                    .selection_set(&inline.node.selection_set.node, level + 1)?
                    .then(directives(&inline.node.directives)),
            };
            items = items.then(item_shape);
        }
        Ok(DocumentShape { nesting: 1 + items.nesting, ..items })
    }
}

fn directives(list: &[Positioned<Directive>]) -> DocumentShape {
    let value_depth = list
        .iter()
        .flat_map(|d| d.node.arguments.iter())
        .map(|(_, value)| value_depth(&value.node))
        .max()
        .unwrap_or(0);
    DocumentShape { directives: list.len() as u64, value_depth, ..Default::default() }
}

/// How deeply lists and objects nest in a value: 0 for a scalar, 1 for `[1]`.
pub fn value_depth(value: &async_graphql_value::Value) -> u64 {
    use async_graphql_value::Value as V;
    match value {
        V::List(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        V::Object(fields) => 1 + fields.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The same for a constant value (defaults and variables).
pub fn const_value_depth(value: &ConstValue) -> u64 {
    match value {
        ConstValue::List(items) => 1 + items.iter().map(const_value_depth).max().unwrap_or(0),
        ConstValue::Object(fields) => 1 + fields.values().map(const_value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(query: &str) -> Result<DocumentShape, ShapeError> {
        measure(&async_graphql::parser::parse_query(query).unwrap(), 64)
    }

    #[test]
    fn fields_aliases_and_directives_are_counted_after_expansion() {
        let shape = shape_of(
            "query { a: document(slug: \"x\") { ...F ...F @skip(if: false) } }
             fragment F on Document { id slug @include(if: true) }",
        )
        .unwrap();
        // document + 2 × (id, slug) in the operation, + (id, slug) in the definition.
        assert_eq!(shape.fields, 1 + 4 + 2);
        assert_eq!(shape.aliases, 1);
        assert_eq!(shape.directives, 1 + 2 + 1);
        assert_eq!(shape.depth, 2);
    }

    #[test]
    fn doubling_fragments_are_measured_without_being_expanded() {
        let mut query = String::from("query { ...F0 }");
        for level in 0..40 {
            query.push_str(&format!(
                " fragment F{level} on Query {{ ...F{next} ...F{next} }}",
                next = level + 1
            ));
        }
        query.push_str(" fragment F40 on Query { __typename }");
        // 2^41 fields: expanding them would never finish.
        let shape = shape_of(&query).unwrap();
        assert!(shape.fields >= 1 << 40, "{shape:?}");
    }

    #[test]
    fn fragment_cycles_and_deep_chains_stop_the_measure() {
        let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(matches!(shape_of(cycle), Err(ShapeError::FragmentCycle(_))));
        let mut chain = String::from("query { ...F0 }");
        for level in 0..200 {
            chain.push_str(&format!(" fragment F{level} on Query {{ ...F{} }}", level + 1));
        }
        assert_eq!(shape_of(&chain), Err(ShapeError::TooNested(64)));
    }

    #[test]
    fn nesting_through_fragments_adds_up_wherever_a_fragment_was_first_measured() {
        // Each fragment holds 10 nested inline fragments and spreads the next; the operation
        // spreads them last to first, so each is first measured at the top level.
        let mut query = String::from("query {");
        for i in (0..10).rev() {
            query.push_str(&format!(" ...F{i}"));
        }
        query.push_str(" }");
        for i in 0..10 {
            let inner = if i == 9 { "__typename".to_owned() } else { format!("...F{}", i + 1) };
            let open = "... on Query { ".repeat(10);
            let close = "}".repeat(10);
            query.push_str(&format!(" fragment F{i} on Query {{ {open}{inner} {close} }}"));
        }
        let shape = shape_of(&query).unwrap();
        assert!(shape.nesting > 100, "{shape:?}");
    }

    #[test]
    fn introspection_is_priced_by_what_it_builds() {
        let shape = shape_of(
            "{ a: __schema { types { name } } b: __schema { types { name } } __type(name: \"Query\") { name } }",
        )
        .unwrap();
        assert_eq!(
            shape.introspection_cost,
            2 * SCHEMA_INTROSPECTION_COST + TYPE_INTROSPECTION_COST
        );
    }

    #[test]
    fn value_nesting_is_measured_in_arguments_and_defaults() {
        let shape = shape_of(
            "query($v: [[Int]] = [[1]]) { documents(filter: {kind: [[[ARTICLE]]]}) { id } }",
        )
        .unwrap();
        assert_eq!(shape.value_depth, 4);
    }
}
