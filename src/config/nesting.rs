//! A pre-parse guard on the nesting depth of flow collections (`[…]`,
//! `{…}`).
//!
//! The YAML scanner's work per token grows with the number of open flow
//! collections, so a few megabytes of `[[[[…` take minutes to parse. This
//! scan runs before the parser and refuses text whose flow depth may exceed
//! [`MAX_FLOW_DEPTH`]. It errs on the side of counting too deep: an opening
//! bracket always counts, wherever it appears (inside quotes or comments
//! too); a closing bracket only counts where it can close a flow collection,
//! that is outside quoted scalars, comments and node properties while inside
//! a flow collection. A valid configuration nests at most four levels.

/// Deepest accepted nesting of flow collections.
pub(crate) const MAX_FLOW_DEPTH: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Where a token may start (inside a flow collection).
    TokenStart,
    /// Inside a plain scalar in a flow collection.
    Plain,
    /// Inside `'…'`.
    Single,
    /// Inside `"…"`.
    Double,
    /// Inside a comment, up to the end of the line.
    Comment,
    /// Inside an anchor, alias or tag, up to the next blank.
    Property,
}

impl State {
    /// The state after byte `b[i]` inside a flow collection, lowering
    /// `depth` when the byte closes one, and how many following bytes the
    /// byte consumes with it (the second quote of `''`, an escaped byte).
    fn next(self, b: &[u8], i: usize, depth: &mut usize) -> (State, usize) {
        let c = b[i];
        let prev_blank = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r');
        let mut state = self;
        let mut skip = 0;
        match self {
            State::TokenStart => match c {
                b'\'' => state = State::Single,
                b'"' => state = State::Double,
                b'#' => state = State::Comment,
                b'&' | b'*' | b'!' => state = State::Property,
                b']' | b'}' => *depth -= 1,
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'?' => {}
                _ => state = State::Plain,
            },
            State::Plain => match c {
                b',' => state = State::TokenStart,
                b']' | b'}' => {
                    *depth -= 1;
                    state = State::TokenStart;
                }
                b':' if matches!(
                    b.get(i + 1),
                    None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}')
                ) =>
                {
                    state = State::TokenStart;
                }
                b'#' if prev_blank => state = State::Comment,
                _ => {}
            },
            State::Single => {
                if c == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        skip = 1;
                    } else {
                        state = State::TokenStart;
                    }
                }
            }
            State::Double => {
                if c == b'\\' {
                    skip = 1;
                } else if c == b'"' {
                    state = State::TokenStart;
                }
            }
            State::Comment => {
                if c == b'\n' || c == b'\r' {
                    state = State::TokenStart;
                }
            }
            State::Property => {
                if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                    state = State::TokenStart;
                }
            }
        }
        (state, skip)
    }
}

/// The byte offset of the first opening bracket beyond the limit, if any.
pub(crate) fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut state = State::TokenStart;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'[' || c == b'{' {
            depth += 1;
            if depth > MAX_FLOW_DEPTH {
                return Some(i);
            }
            if matches!(state, State::TokenStart | State::Plain) || depth == 1 {
                state = State::TokenStart;
            }
            i += 1;
            continue;
        }
        if depth == 0 {
            // Block context: nothing to close; quotes and comments there
            // cannot hide an opening bracket from this scan anyway.
            i += 1;
            continue;
        }
        let skip;
        (state, skip) = state.next(b, i, &mut depth);
        i += skip;
        if depth == 0 {
            state = State::TokenStart;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_text_passes() {
        assert_eq!(too_deep("a: [b, {c: [d]}]\n"), None);
        assert_eq!(too_deep(&"x: [a]\n".repeat(10_000)), None);
        assert_eq!(too_deep("a: \"]]]\" \n# [[[\nb: c\n"), None);
    }

    #[test]
    fn deep_text_is_refused() {
        let deep = format!("a: {}", "[".repeat(MAX_FLOW_DEPTH + 1));
        assert_eq!(too_deep(&deep), Some(3 + MAX_FLOW_DEPTH));
        assert_eq!(too_deep(&"[".repeat(MAX_FLOW_DEPTH)), None);
    }

    #[test]
    fn quoted_closers_do_not_hide_depth() {
        let sneaky = "[ \"]\" ".repeat(MAX_FLOW_DEPTH + 1);
        assert!(too_deep(&sneaky).is_some());
        let sneaky = "[ ']' ".repeat(MAX_FLOW_DEPTH + 1);
        assert!(too_deep(&sneaky).is_some());
        let sneaky = "[ # ]\n".repeat(MAX_FLOW_DEPTH + 1);
        assert!(too_deep(&sneaky).is_some());
        let sneaky = "[ &a] ".repeat(MAX_FLOW_DEPTH + 1);
        assert!(too_deep(&sneaky).is_some());
    }
}
