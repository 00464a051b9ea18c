//! Markup is bounded while it is read, before it costs more than reading it. Parsers and what
//! walks their trees (Readability) recurse, so a page of 100,000 nested tags takes them deep
//! into the stack; html5ever's tree construction looks through the open elements for every tag,
//! so the same page costs it the square of its depth (minutes); and a tag or a root element with
//! thousands of attributes costs the square of their number, since each new one is compared with
//! every earlier one.
//!
//! A pre-scan of the bytes cannot see a page as html5ever will: `<div/>` opens a div, a
//! `<title>` inside `<svg>` holds markup, a quoted `/>` closes nothing, formatting tags are
//! reopened by the parser itself. So HTML is bounded where the tree is built: html5ever is fed
//! a slice at a time into a sink that counts what it is asked to build and stops the parse at
//! the first limit passed; the finished tree's depth is then measured exactly. XML (feeds) has
//! none of HTML's repairs, and one exact pass over its tags bounds it before `feed-rs` reads it.
//! The tokenizer's own per-tag cost is bounded in `vendor/html5ever` (see its `PATCHED.md`).

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use dom_query::{Document, NodeId};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeBuilderOpts, TreeSink};
use html5ever::{Attribute, ParseOpts, QualName};

/// What a page may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkupLimits {
    pub max_bytes: usize,
    /// Elements inside each other.
    pub max_depth: usize,
    pub max_elements: usize,
    /// Attributes of one element (in HTML, also those later tags add to `<html>` and `<body>`).
    pub max_attributes: usize,
}

/// What is wrong with a page's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MarkupError {
    #[error("the page is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("elements nest over {limit} deep")]
    TooDeep { limit: usize },
    #[error("the page has over {limit} elements")]
    TooManyElements { limit: usize },
    #[error("an element has over {limit} attributes")]
    TooManyAttributes { limit: usize },
}

/// How much html5ever is given at a time: the most it can build past a limit before it stops.
const SLICE: usize = 8 * 1024;

/// `html` parsed as a browser would (no scripting), or the first limit it passes.
pub fn parse_html(html: &str, limits: &MarkupLimits) -> Result<Document, MarkupError> {
    if html.len() > limits.max_bytes {
        return Err(MarkupError::TooLarge { size: html.len(), limit: limits.max_bytes });
    }
    let failure = Rc::new(Cell::new(None));
    let sink = Counting {
        document: Document::default(),
        limits: *limits,
        elements: Cell::new(0),
        templates: RefCell::default(),
        failure: Rc::clone(&failure),
    };
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts { scripting_enabled: false, ..Default::default() },
        ..Default::default()
    };
    let mut parser = html5ever::parse_document(sink, opts);
    let mut rest = html;
    while !rest.is_empty() {
        let mut end = rest.len().min(SLICE);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..end]));
        rest = &rest[end..];
        if let Some(error) = failure.get() {
            return Err(error);
        }
    }
    let document = parser.finish();
    if let Some(error) = failure.get() {
        return Err(error);
    }
    // Adoption and reparenting move whole subtrees, so depths seen while building are a guide;
    // the finished tree is measured.
    if depth_exceeds(&document, limits.max_depth) {
        return Err(MarkupError::TooDeep { limit: limits.max_depth });
    }
    Ok(document)
}

/// Whether any node of `document` lies deeper than `limit`, walked without recursion.
fn depth_exceeds(document: &Document, limit: usize) -> bool {
    let tree = &document.tree;
    let mut stack: Vec<(NodeId, usize)> = vec![(tree.root_id(), 0)];
    while let Some((id, depth)) = stack.pop() {
        if depth > limit {
            return true;
        }
        let contents = tree.query_node_or(&id, None, |node| match &node.data {
            dom_query::NodeData::Element(element) => element.template_contents,
            _ => None,
        });
        if let Some(contents) = contents {
            stack.push((contents, depth + 1));
        }
        let mut child = tree.first_child_of(&id).map(|c| c.id);
        while let Some(c) = child {
            stack.push((c, depth + 1));
            child = tree.next_sibling_of(&c).map(|n| n.id);
        }
    }
    false
}

/// dom_query's own tree sink, counting what it builds. Past a limit it builds nothing more of
/// cost (no attributes merged), and the parse is stopped at the end of the slice.
struct Counting {
    document: Document,
    limits: MarkupLimits,
    elements: Cell<usize>,
    /// A template's contents are a fragment of their own, outside the tree: each is counted
    /// as one level below its template, so nested templates nest.
    templates: RefCell<HashMap<NodeId, NodeId>>,
    failure: Rc<Cell<Option<MarkupError>>>,
}

impl Counting {
    fn fail(&self, error: MarkupError) {
        if self.failure.get().is_none() {
            self.failure.set(Some(error));
        }
    }

    fn failed(&self) -> bool {
        self.failure.get().is_some()
    }

    /// After `node` was placed: how deep it lies, counted up to just past the limit.
    fn placed(&self, node: &NodeOrText<NodeId>) {
        let NodeOrText::AppendNode(id) = node else { return };
        let tree = &self.document.tree;
        let mut depth = 0;
        let mut at = *id;
        loop {
            let parent = match tree.parent_of(&at) {
                Some(parent) => parent.id,
                None => match self.templates.borrow().get(&at) {
                    Some(template) => *template,
                    None => return,
                },
            };
            depth += 1;
            if depth > self.limits.max_depth {
                return self.fail(MarkupError::TooDeep { limit: self.limits.max_depth });
            }
            at = parent;
        }
    }
}

fn node_id(node: &NodeOrText<NodeId>) -> NodeOrText<NodeId> {
    match node {
        NodeOrText::AppendNode(id) => NodeOrText::AppendNode(*id),
        NodeOrText::AppendText(text) => NodeOrText::AppendText(text.clone()),
    }
}

impl TreeSink for Counting {
    type Handle = NodeId;
    type Output = Document;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Document {
        self.document
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {
        // A sloppy page has thousands; they say nothing a capture needs, and would be kept.
    }

    fn get_document(&self) -> NodeId {
        self.document.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        self.document.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let count = self.elements.get() + 1;
        self.elements.set(count);
        if count > self.limits.max_elements {
            self.fail(MarkupError::TooManyElements { limit: self.limits.max_elements });
        }
        if attrs.len() > self.limits.max_attributes {
            self.fail(MarkupError::TooManyAttributes { limit: self.limits.max_attributes });
        }
        self.document.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.document.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.document.create_pi(target, data)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        let placed = node_id(&child);
        self.document.append(parent, child);
        self.placed(&placed);
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        let placed = node_id(&child);
        self.document.append_based_on_parent_node(element, prev_element, child);
        self.placed(&placed);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.document.append_doctype_to_document(name, public_id, system_id);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        let contents = self.document.get_template_contents(target);
        self.templates.borrow_mut().insert(contents, *target);
        contents
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.document.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.document.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        let placed = node_id(&new_node);
        self.document.append_before_sibling(sibling, new_node);
        self.placed(&placed);
    }

    /// A later `<html>` or `<body>` tag adds its attributes to the first: each is compared
    /// with those already there, so the element's attributes are bounded as a tag's are.
    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        if self.failed() {
            return;
        }
        let held = self.document.tree.query_node_or(target, 0, |node| match &node.data {
            dom_query::NodeData::Element(element) => element.attrs.len(),
            _ => 0,
        });
        if held + attrs.len() > self.limits.max_attributes {
            return self.fail(MarkupError::TooManyAttributes { limit: self.limits.max_attributes });
        }
        self.document.add_attrs_if_missing(target, attrs);
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.document.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        self.document.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.document.is_mathml_annotation_xml_integration_point(handle)
    }
}

/// Checks the XML document `xml` against `limits` in one pass over its bytes, reading tags
/// as an XML parser does: quoted attribute values may hold `>` and `/>`, comments, CDATA
/// sections and processing instructions hold no tags, and an end tag closes the innermost
/// open element. (A document that is not well formed is the parser's to refuse.)
pub fn check_xml(xml: &str, limits: &MarkupLimits) -> Result<(), MarkupError> {
    if xml.len() > limits.max_bytes {
        return Err(MarkupError::TooLarge { size: xml.len(), limit: limits.max_bytes });
    }
    let bytes = xml.as_bytes();
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|b| *b == b'<') {
        i += offset + 1;
        let rest = &bytes[i..];
        let skip_to = |end: &[u8]| find(bytes, i, end).map_or(bytes.len(), |at| at + end.len());
        if rest.starts_with(b"!--") {
            i = skip_to(b"-->");
        } else if rest.starts_with(b"![CDATA[") {
            i = skip_to(b"]]>");
        } else if rest.starts_with(b"?") {
            i = skip_to(b"?>");
        } else if rest.starts_with(b"!") {
            // A document type declaration, whose internal subset may hold `>` in brackets.
            i = declaration_end(bytes, i);
        } else if rest.starts_with(b"/") {
            i = tag_end(bytes, i).end;
            depth = depth.saturating_sub(1);
        } else {
            let tag = tag_end(bytes, i);
            i = tag.end;
            elements += 1;
            if elements > limits.max_elements {
                return Err(MarkupError::TooManyElements { limit: limits.max_elements });
            }
            if tag.attributes > limits.max_attributes {
                return Err(MarkupError::TooManyAttributes { limit: limits.max_attributes });
            }
            if !tag.self_closing {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(MarkupError::TooDeep { limit: limits.max_depth });
                }
            }
        }
    }
    Ok(())
}

struct Tag {
    /// Just past its `>` (or the end of the document).
    end: usize,
    self_closing: bool,
    /// Names begun after white space: at least as many as the tag has attributes.
    attributes: usize,
}

/// The tag whose name starts at `from`: up to the first `>` outside quotes.
fn tag_end(bytes: &[u8], from: usize) -> Tag {
    let mut quote = None;
    let mut attributes = 0;
    let mut after_space = false;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => {
                let self_closing = i > from && bytes[i - 1] == b'/';
                return Tag { end: i + 1, self_closing, attributes };
            }
            None if b.is_ascii_whitespace() => after_space = true,
            None => {
                if after_space && b != b'=' && b != b'/' {
                    attributes += 1;
                }
                after_space = false;
            }
        }
        i += 1;
    }
    Tag { end: bytes.len(), self_closing: false, attributes }
}

/// Just past the `>` ending the declaration at `from`, skipping `[…]` and quoted text.
fn declaration_end(bytes: &[u8], from: usize) -> usize {
    let (mut brackets, mut quote) = (0usize, None);
    for (at, &b) in bytes.iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' => brackets += 1,
                b']' => brackets = brackets.saturating_sub(1),
                b'>' if brackets == 0 => return at + 1,
                _ => {}
            },
        }
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
