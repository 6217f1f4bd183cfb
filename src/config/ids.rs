//! Shape checks for the identifiers and names that appear in the
//! desired-state file. Pure functions: each returns `Ok(())` or the
//! description of what was expected.

/// Why a value was refused: what was expected, and optionally a corrected
/// value derived from the input (only shown when the input came verbatim from
/// the file, never when it came from the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What was expected, as a phrase to follow `expected`.
    pub(crate) expected: String,
    /// A corrected value derived from the input, when one is obvious.
    pub(crate) suggestion: Option<String>,
}

impl Refusal {
    fn expected(text: impl Into<String>) -> Self {
        Refusal {
            expected: text.into(),
            suggestion: None,
        }
    }
}

/// A validator: the noun phrase for the kind of value, and the check.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    /// The kind of value, e.g. `an AWS region name`.
    pub(crate) what: &'static str,
    /// Accepts the value or says what was expected.
    pub(crate) check: fn(&str) -> Result<(), Refusal>,
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `<prefix>-` followed by 8 or 17 lowercase hex digits (AWS resource ids).
fn aws_id(s: &str, prefix: &str) -> bool {
    match s.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) {
        Some(rest) => (rest.len() == 8 || rest.len() == 17) && rest.bytes().all(is_lower_hex),
        None => false,
    }
}

/// An Atlas project id: 24 lowercase hexadecimal digits.
pub(crate) const PROJECT_ID: Shape = Shape {
    what: "an Atlas project id",
    check: |s| {
        if s.len() == 24 && s.bytes().all(is_lower_hex) {
            Ok(())
        } else {
            Err(Refusal::expected("24 lowercase hexadecimal digits"))
        }
    },
};

/// An AWS region name such as `us-east-1`.
pub(crate) const REGION: Shape = Shape {
    what: "an AWS region name",
    check: |s| {
        if is_region(s) {
            Ok(())
        } else {
            Err(Refusal::expected(
                "a region name such as `us-east-1` or `us-gov-west-1`",
            ))
        }
    },
};

/// `^[a-z]{2}(-gov)?-[a-z]+-\d$`
pub(crate) fn is_region(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_lowercase() || !b[1].is_ascii_lowercase() || b[2] != b'-' {
        return false;
    }
    let rest = &s[3..];
    is_word_digit(rest) || rest.strip_prefix("gov-").is_some_and(is_word_digit)
}

/// `[a-z]+-\d`
fn is_word_digit(s: &str) -> bool {
    let b = s.as_bytes();
    let n = b.len();
    n >= 3
        && b[n - 1].is_ascii_digit()
        && b[n - 2] == b'-'
        && b[..n - 2].iter().all(u8::is_ascii_lowercase)
}

/// The stack name that tags and marks what privlink creates.
pub(crate) const STACK: Shape = Shape {
    what: "a stack name",
    check: |s| {
        if is_stack_name(s) {
            Ok(())
        } else {
            Err(Refusal::expected(
                "1 to 40 characters from a-z, 0-9 and `-`, starting with a letter or digit",
            ))
        }
    },
};

/// `^[a-z0-9][a-z0-9-]{0,39}$`
pub(crate) fn is_stack_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// `^[a-z][a-z0-9_-]{0,39}$`
pub(crate) fn endpoint_name(s: &str) -> Result<(), Refusal> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(Refusal::expected(
            "1 to 40 characters from a-z, 0-9, `_` and `-`, starting with a letter",
        ))
    }
}

/// The name of an Atlas serverless instance.
pub(crate) const INSTANCE: Shape = Shape {
    what: "a serverless instance name",
    check: |s| {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && b[0].is_ascii_alphanumeric()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if ok {
            Ok(())
        } else {
            Err(Refusal::expected(
                "1 to 64 characters from letters, digits and `-`, starting with a letter or digit",
            ))
        }
    },
};

/// Longest accepted `comment`, in characters.
pub(crate) const COMMENT_MAX: usize = 80;

/// The free-text comment stored on an Atlas endpoint.
pub(crate) const COMMENT: Shape = Shape {
    what: "a comment",
    check: |s| {
        let n = s.chars().count();
        if n > COMMENT_MAX {
            Err(Refusal::expected(format!(
                "at most {COMMENT_MAX} characters (found {n})"
            )))
        } else if s.chars().any(char::is_control) {
            Err(Refusal::expected(
                "a single line without control characters",
            ))
        } else {
            Ok(())
        }
    },
};

/// A VPC id, `vpc-…`.
pub(crate) const VPC_ID: Shape = Shape {
    what: "a VPC id",
    check: |s| {
        if aws_id(s, "vpc") {
            Ok(())
        } else {
            Err(Refusal::expected(
                "`vpc-` followed by 8 or 17 lowercase hexadecimal digits",
            ))
        }
    },
};

/// A subnet id, `subnet-…`.
pub(crate) const SUBNET_ID: Shape = Shape {
    what: "a subnet id",
    check: |s| {
        if aws_id(s, "subnet") {
            Ok(())
        } else {
            Err(Refusal::expected(
                "`subnet-` followed by 8 or 17 lowercase hexadecimal digits",
            ))
        }
    },
};

/// A security group id, `sg-…`.
pub(crate) const GROUP_ID: Shape = Shape {
    what: "a security group id",
    check: |s| {
        if aws_id(s, "sg") {
            Ok(())
        } else {
            Err(Refusal::expected(
                "`sg-` followed by 8 or 17 lowercase hexadecimal digits",
            ))
        }
    },
};

/// A traffic source: a security group id or an IPv4 CIDR block.
pub(crate) const SOURCE: Shape = Shape {
    what: "a traffic source",
    check: |s| {
        if s.starts_with("sg-") {
            (GROUP_ID.check)(s)
        } else if s.contains('/') {
            cidr(s)
        } else {
            Err(Refusal::expected(
                "a security group id (`sg-…`) or an IPv4 CIDR block such as `10.0.0.0/16`",
            ))
        }
    },
};

/// An IPv4 CIDR block `a.b.c.d/n` in canonical form: four decimal octets
/// without leading zeros, a prefix length of at most 32, and no host bits
/// set (AWS stores the network address, so anything else would show up as
/// a difference on every plan).
pub(crate) fn cidr(s: &str) -> Result<(), Refusal> {
    let shape = || {
        Refusal::expected(
            "an IPv4 CIDR block `a.b.c.d/n` with octets 0-255 and a prefix length 0-32",
        )
    };
    let (addr, len) = s.split_once('/').ok_or_else(shape)?;
    let len = decimal(len, 32).ok_or_else(shape)?;
    let mut octets = [0u32; 4];
    let mut parts = addr.split('.');
    for octet in &mut octets {
        *octet = parts
            .next()
            .and_then(|p| decimal(p, 255))
            .ok_or_else(shape)?;
    }
    if parts.next().is_some() {
        return Err(shape());
    }
    let ip = octets.iter().fold(0u32, |acc, o| (acc << 8) | o);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if ip & !mask != 0 {
        let net = ip & mask;
        return Err(Refusal {
            expected: "the network address of the block, with no host bits set".to_string(),
            suggestion: Some(format!(
                "{}.{}.{}.{}/{len}",
                net >> 24,
                (net >> 16) & 0xff,
                (net >> 8) & 0xff,
                net & 0xff
            )),
        });
    }
    Ok(())
}

/// A decimal number without sign or leading zeros, at most `max`.
fn decimal(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    let v: u32 = s.parse().ok()?;
    (v <= max).then_some(v)
}

/// The stack name derived from a file stem: lower-cased, every character
/// outside `[a-z0-9-]` replaced by `-`, leading `-` removed, cut to 40
/// characters. `None` when nothing usable is left.
pub(crate) fn stack_from_stem(stem: &str) -> Option<String> {
    let mapped: String = stem
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cut: String = mapped.trim_start_matches('-').chars().take(40).collect();
    is_stack_name(&cut).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "us-east-12",
            "US-east-1",
            "u-east-1",
            "us--1",
            "useast-1",
            "us-east-1 ",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn aws_ids() {
        assert!((VPC_ID.check)("vpc-0a1b2c3d").is_ok());
        assert!((VPC_ID.check)("vpc-0a1b2c3d4e5f60718").is_ok());
        assert!((VPC_ID.check)("vpc-0a1b2c3d4e5f6071").is_err());
        assert!((VPC_ID.check)("vpc-0A1B2C3D").is_err());
        assert!((SUBNET_ID.check)("subnet-0a1b2c3d").is_ok());
        assert!((GROUP_ID.check)("sg-0123456789abcdef0").is_ok());
        assert!((GROUP_ID.check)("sg-").is_err());
    }

    #[test]
    fn cidrs() {
        for ok in [
            "10.0.0.0/16",
            "0.0.0.0/0",
            "192.168.1.7/32",
            "172.16.0.0/12",
        ] {
            assert!(cidr(ok).is_ok(), "{ok}");
        }
        for bad in [
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/33",
            "256.0.0.0/8",
            "10.00.0.0/16",
            "10.0.0.0/",
            "a.b.c.d/1",
            "10.0.0.0.0/8",
            "10.0.0.0/+8",
        ] {
            assert!(cidr(bad).is_err(), "{bad}");
        }
        let r = cidr("10.1.2.3/16").unwrap_err();
        assert_eq!(r.suggestion.as_deref(), Some("10.1.0.0/16"));
    }

    #[test]
    fn stack_names() {
        assert_eq!(
            stack_from_stem("Prod.Orders").as_deref(),
            Some("prod-orders")
        );
        assert_eq!(stack_from_stem("_x").as_deref(), Some("x"));
        assert_eq!(stack_from_stem("___"), None);
        assert_eq!(stack_from_stem(&"a".repeat(50)).map(|s| s.len()), Some(40));
    }
}
