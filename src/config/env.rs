//! `${VAR}` expansion inside scalar values.
//!
//! Rules: `${NAME}` (NAME = `[A-Za-z_][A-Za-z0-9_]*`) is replaced by the
//! variable's value; `$${` stands for a literal `${`; any other `$` is kept
//! as is. Expansion is a single pass: a value that itself contains `${` is
//! not expanded again. Values are never put in error messages.

/// What a `${` starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// `$${`: a literal `${`; the escape is 3 bytes long.
    Escape,
    /// `${NAME}`; `len` is the length of the whole reference in bytes.
    Reference { name: &'a str, len: usize },
    /// A `${` that is not closed or whose name is not a valid name.
    Malformed,
}

/// The next `$${` or `${` at or after byte `from`, with its byte offset.
pub(crate) fn next_piece(s: &str, from: usize) -> Option<(usize, Piece<'_>)> {
    let b = s.as_bytes();
    let mut i = from;
    while i < b.len() {
        if b[i] == b'$' {
            if b[i + 1..].starts_with(b"${") {
                return Some((i, Piece::Escape));
            }
            if b.get(i + 1) == Some(&b'{') {
                let body = &s[i + 2..];
                let piece = match body.find('}') {
                    Some(end) if is_name(&body[..end]) => Piece::Reference {
                        name: &body[..end],
                        len: end + 3,
                    },
                    _ => Piece::Malformed,
                };
                return Some((i, piece));
            }
        }
        i += 1;
    }
    None
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Why a scalar could not be expanded. Offsets are byte offsets into the
/// scalar's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    Missing { name: String },
    Malformed,
}

/// A scalar after expansion: its value and the names of the variables used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub(crate) value: String,
    pub(crate) vars: Vec<String>,
}

/// Expands `raw` with `env`.
pub(crate) fn expand(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ExpandError> {
    let mut value = String::with_capacity(raw.len());
    let mut vars: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some((i, piece)) = next_piece(raw, at) {
        value.push_str(&raw[at..i]);
        match piece {
            Piece::Escape => {
                value.push_str("${");
                at = i + 3;
            }
            Piece::Reference { name, len } => {
                let found = env(name).ok_or_else(|| ExpandError::Missing {
                    name: name.to_string(),
                })?;
                value.push_str(&found);
                if !vars.iter().any(|v| v == name) {
                    vars.push(name.to_string());
                }
                at = i + len;
            }
            Piece::Malformed => return Err(ExpandError::Malformed),
        }
    }
    value.push_str(&raw[at..]);
    Ok(Expanded { value, vars })
}

/// Where, in the file text starting at byte `from`, the first reference to
/// `name` (or, for `None`, the first malformed `${`) is. The search stops
/// after `window` bytes, so that a scalar whose reference is not spelled out
/// literally (written with escapes in a quoted string) does not match text
/// further down the file.
pub(crate) fn locate(text: &str, from: usize, window: usize, name: Option<&str>) -> Option<usize> {
    let end = from.saturating_add(window).min(text.len());
    let mut at = from.min(text.len());
    while let Some((i, piece)) = next_piece(text, at) {
        if i >= end {
            return None;
        }
        match (piece, name) {
            (Piece::Reference { name: found, .. }, Some(wanted)) if found == wanted => {
                return Some(i);
            }
            (Piece::Malformed, None) => return Some(i),
            (Piece::Escape, _) => at = i + 3,
            _ => at = i + 2,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "LOOP" => Some("${A}".into()),
            _ => None,
        }
    }

    fn ok(raw: &str) -> String {
        expand(raw, &env).unwrap().value
    }

    #[test]
    fn expands() {
        assert_eq!(ok("plain"), "plain");
        assert_eq!(ok("${A}"), "alpha");
        assert_eq!(ok("x-${A}-${A}-y"), "x-alpha-alpha-y");
        assert_eq!(ok("${EMPTY}z"), "z");
        assert_eq!(ok("$${A}"), "${A}");
        assert_eq!(ok("$A $ $$ {A}"), "$A $ $$ {A}");
        assert_eq!(ok("${LOOP}"), "${A}");
        assert_eq!(ok("trailing $"), "trailing $");
        assert_eq!(
            expand("${A}${A}", &env).unwrap().vars,
            vec!["A".to_string()]
        );
    }

    #[test]
    fn refuses() {
        assert_eq!(
            expand("a${NOPE}", &env),
            Err(ExpandError::Missing {
                name: "NOPE".into()
            })
        );
        assert_eq!(expand("${A", &env), Err(ExpandError::Malformed));
        assert_eq!(expand("${}", &env), Err(ExpandError::Malformed));
        assert_eq!(expand("${1A}", &env), Err(ExpandError::Malformed));
        assert_eq!(expand("${A B}", &env), Err(ExpandError::Malformed));
    }

    #[test]
    fn locates() {
        let text = "a: $${B} ${B}\nb: ${ C";
        assert_eq!(locate(text, 0, 100, Some("B")), Some(9));
        assert_eq!(locate(text, 0, 100, None), Some(17));
        assert_eq!(locate(text, 0, 5, Some("B")), None);
    }
}
