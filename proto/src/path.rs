//! ZooKeeper's path rules (`PathUtils.validatePath`), so Warren refuses exactly the paths
//! ZooKeeper refuses.

/// Why a path is not a valid znode path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path {path:?}: {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: String,
}

/// Checks a znode path. Sequential creates validate the path with `"1"` appended, as
/// ZooKeeper does, so that a trailing `/` is allowed there.
///
/// # Errors
/// [`PathError`] naming the rule the path breaks.
pub fn validate(path: &str) -> Result<(), PathError> {
    let fail = |reason: String| {
        Err(PathError {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return fail("path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return fail("path must not end with / character".into());
    }
    // Java works on UTF-16 units: a character beyond the BMP is a surrogate pair, and
    // surrogates are in the forbidden range.
    let units: Vec<u16> = path.encode_utf16().collect();
    for i in 1..units.len() {
        let c = units[i];
        let last = units[i - 1];
        let next_is_end_or_slash = i + 1 == units.len() || units[i + 1] == u16::from(b'/');
        if c == 0 {
            return fail(format!("null character not allowed @{i}"));
        } else if c == u16::from(b'/') && last == u16::from(b'/') {
            return fail(format!("empty node name specified @{i}"));
        } else if c == u16::from(b'.') && last == u16::from(b'.') {
            if i >= 2 && units[i - 2] == u16::from(b'/') && next_is_end_or_slash {
                return fail(format!("relative paths not allowed @{i}"));
            }
        } else if c == u16::from(b'.') {
            if last == u16::from(b'/') && next_is_end_or_slash {
                return fail(format!("relative paths not allowed @{i}"));
            }
        } else if (c > 0 && c <= 0x1f)
            || (0x7f..=0x9f).contains(&c)
            || (0xd800..=0xf8ff).contains(&c)
            || c >= 0xfff0
        {
            return fail(format!("invalid character @{i}"));
        }
    }
    Ok(())
}

/// The parent of a valid path other than `/`.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a valid path (empty for `/`).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects_like_zookeeper() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/..a", "/a/...", "/ünï"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a\0b",
            "/a\u{1}",
            "/emoji😀",
            "/a\u{9f}",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(name("/a/b"), "b");
    }
}
