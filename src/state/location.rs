//! [`Location`]: where a state (or one of its companion objects) lives, as
//! messages show it: a file path today, `s3://bucket/key` for a remote one.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a state lives, as shown to people: a display string, not a
/// file-system path, so that every backend can name its objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location(String);

impl Location {
    /// A location shown as `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Location(text.into())
    }

    /// The location as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location(path.display().to_string())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::from(path.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_shows_as_its_display_string() {
        let l = Location::from(Path::new("state/prod.state.json"));
        assert_eq!(l.to_string(), "state/prod.state.json");
        assert_eq!(l.as_str(), "state/prod.state.json");
        assert_eq!(Location::new("s3://b/k").to_string(), "s3://b/k");
    }
}
