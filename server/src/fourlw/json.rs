//! The AdminServer's JSON: a tiny ordered value type and a printer that lays it out the
//! way ZooKeeper's AdminServer does (Jackson's default pretty printer), so that scripts
//! which diff or grep the reference's answers see the same text from Warren.
//!
//! A dedicated type rather than `serde_json::Value`: ZooKeeper's key order is part of its
//! output, and turning on serde_json's `preserve_order` would change the order of every
//! other JSON map in the workspace (the tools' dumps) through feature unification.

use std::fmt::Write as _;

/// A JSON value whose objects keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// Printed as Java prints a double (`0.0`, `4.1818`).
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An empty object, to push fields onto.
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// Appends a field (objects only; other values ignore it).
    pub fn set(&mut self, key: &str, v: impl Into<Json>) -> &mut Json {
        if let Json::Obj(f) = self {
            f.push((key.to_owned(), v.into()));
        }
        self
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(f) => f.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text, laid out like Jackson's default pretty printer: objects one field a line
    /// indented two spaces per object level, arrays on the line of their parent, and
    /// `{ }` / `[ ]` when empty. No trailing newline, as ZooKeeper sends it.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Float(f) => out.push_str(&java_double(*f)),
            Json::Str(s) => escape(s, out),
            Json::Arr(a) if a.is_empty() => out.push_str("[ ]"),
            Json::Arr(a) => {
                out.push_str("[ ");
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out, depth);
                }
                out.push_str(" ]");
            }
            Json::Obj(f) if f.is_empty() => out.push_str("{ }"),
            Json::Obj(f) => {
                out.push('{');
                for (i, (k, v)) in f.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('\n');
                    indent(out, depth + 1);
                    escape(k, out);
                    out.push_str(" : ");
                    v.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A double as Java's `Double.toString` writes it for the magnitudes ZooKeeper reports:
/// always with a fractional part (`0.0`, `12.0`, `4.1818`).
pub fn java_double(f: f64) -> String {
    if f.is_finite() {
        format!("{f:?}")
    } else if f.is_nan() {
        "NaN".to_owned()
    } else if f > 0.0 {
        "Infinity".to_owned()
    } else {
        "-Infinity".to_owned()
    }
}

impl From<i64> for Json {
    fn from(v: i64) -> Json {
        Json::Int(v)
    }
}
impl From<u64> for Json {
    fn from(v: u64) -> Json {
        Json::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<i32> for Json {
    fn from(v: i32) -> Json {
        Json::Int(i64::from(v))
    }
}
impl From<u32> for Json {
    fn from(v: u32) -> Json {
        Json::Int(i64::from(v))
    }
}
impl From<usize> for Json {
    fn from(v: usize) -> Json {
        Json::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Float(v)
    }
}
impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::Str(v.to_owned())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::Str(v)
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Json {
        Json::Arr(v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_like_the_reference() {
        let mut inner = Json::obj();
        inner.set("a", 1i64).set("b", vec![1i64, 2]);
        let mut j = Json::obj();
        j.set("conns", Json::Arr(vec![inner.clone(), inner]))
            .set("empty", Json::Arr(vec![]))
            .set("none", Json::obj())
            .set("avg", 0.0)
            .set("error", Json::Null);
        assert_eq!(
            j.pretty(),
            "{\n  \"conns\" : [ {\n    \"a\" : 1,\n    \"b\" : [ 1, 2 ]\n  }, {\n    \"a\" : 1,\n    \
             \"b\" : [ 1, 2 ]\n  } ],\n  \"empty\" : [ ],\n  \"none\" : { },\n  \"avg\" : 0.0,\n  \
             \"error\" : null\n}"
        );
    }
}
