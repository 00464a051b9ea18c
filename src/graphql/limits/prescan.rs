//! A single pass over the raw query text, before the parser sees it: how many lexical tokens it
//! holds and how deeply its brackets nest. The parser recurses once per nesting level, so a
//! few kilobytes of `[[[[…` would overflow a worker's stack; counting here, in a loop, keeps
//! the parser away from any text it could not finish.
//!
//! The count follows the GraphQL lexical grammar closely enough for a limit (commas, white
//! space and comments are not tokens; a string or block string is one token, escapes
//! included); what is not valid GraphQL is left for the parser to report.

/// What the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextShape {
    pub tokens: u64,
    /// The deepest nesting of `{`, `[` and `(`.
    pub nesting: u64,
    /// The longest name or number, in bytes (strings are not counted: they hold text).
    pub longest_word: u64,
    /// Bytes inside string values, quotes and escapes included: the parser reads a string
    /// literal far more slowly than JSON reads a variable, so their total is limited.
    pub string_bytes: u64,
}

pub fn scan(text: &str) -> TextShape {
    let bytes = text.as_bytes();
    let mut shape = TextShape::default();
    let mut depth: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                shape.tokens += 1;
                let start = i;
                i = if bytes[i..].starts_with(b"\"\"\"") {
                    skip_block_string(bytes, i + 3)
                } else {
                    skip_string(bytes, i + 1)
                };
                shape.string_bytes += (i - start) as u64;
            }
            b'{' | b'[' | b'(' => {
                shape.tokens += 1;
                depth += 1;
                shape.nesting = shape.nesting.max(depth);
                i += 1;
            }
            b'}' | b']' | b')' => {
                shape.tokens += 1;
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                shape.tokens += 1;
                i += 3;
            }
            _ if is_word_byte(b) => {
                shape.tokens += 1;
                let start = i;
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                shape.longest_word = shape.longest_word.max((i - start) as u64);
            }
            _ => {
                // A punctuator (`! $ & : = @ |`), a byte-order mark, or something the parser
                // will refuse: one token either way. Multi-byte characters are stepped over
                // whole.
                shape.tokens += 1;
                i += utf8_width(b);
            }
        }
    }
    shape
}

/// Names, numbers (with their sign, fraction and exponent) and keywords.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+'
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Past the closing quote of a string that starts at `i` (just after its opening quote); an
/// unterminated string ends at the line's end.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past the closing `"""` of a block string whose body starts at `i`; `\"""` does not close.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::{TextShape, scan};

    #[test]
    fn tokens_are_counted_as_the_grammar_defines_them() {
        // { document ( slug : "a, b" ) { id ... on Document { slug } } }
        let shape = scan(r#"{ document(slug: "a, b") { id ...on Document { slug } } } # c { ["#);
        assert_eq!(shape, TextShape { tokens: 17, nesting: 3, longest_word: 8, string_bytes: 6 });
        assert_eq!(scan("query Q($n: Int = -1.5e+3) { x }").tokens, 13);
        assert_eq!(scan("").tokens, 0);
    }

    #[test]
    fn strings_hide_their_brackets_and_escapes() {
        let shape = scan(r#"{ a(s: "[[[ \" {{{") }"#);
        assert_eq!((shape.tokens, shape.nesting), (8, 2));
        let shape = scan(r#"{ a(s: """ [[ \""" {{ """) }"#);
        assert_eq!((shape.tokens, shape.nesting), (8, 2));
        // Unterminated strings end at the line's end, so they cannot swallow the rest.
        assert_eq!(scan("{ a(s: \"open\n) }").nesting, 2);
    }

    #[test]
    fn nesting_is_the_deepest_bracket_of_any_kind() {
        let deep = format!("{{ a(k: {}1{}) }}", "[".repeat(1600), "]".repeat(1600));
        assert_eq!(scan(&deep).nesting, 1602);
        let objects = format!("{{ a(o: {}) }}", "{f: ".repeat(50) + &"}".repeat(50));
        assert_eq!(scan(&objects).nesting, 52);
    }

    #[test]
    fn non_ascii_text_outside_strings_is_stepped_over_whole() {
        assert_eq!(scan("{ é }").tokens, 3);
        assert_eq!(scan("\u{feff}{ a }").tokens, 4);
    }
}
