//! The text form jute records take when ZooKeeper's tools print them with `toString()`:
//! fields separated by commas, strings with a leading `'` and a few characters escaped as
//! `%XX`, nested records as `s{…}`, vectors as `v{…}`, buffers as `#` and hex, and a newline
//! after a top-level record. The txn log dump prints several txn types this way.

use warren_proto::Acl;

/// Builds the text of one top-level record.
#[derive(Debug, Default)]
pub struct RecordText {
    out: String,
    first: bool,
}

impl RecordText {
    /// Starts a top-level record (which prints no opening bracket).
    pub fn new() -> Self {
        RecordText {
            out: String::new(),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// An `int` or `long` field.
    pub fn long(&mut self, v: i64) -> &mut Self {
        self.sep();
        self.out.push_str(&v.to_string());
        self
    }

    /// A `boolean` field: `T` or `F`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.sep();
        self.out.push(if v { 'T' } else { 'F' });
        self
    }

    /// A `ustring` field.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.out.push('\'');
        for c in s.chars() {
            match c {
                '\0' => self.out.push_str("%00"),
                '\n' => self.out.push_str("%0A"),
                '\r' => self.out.push_str("%0D"),
                ',' => self.out.push_str("%2C"),
                '}' => self.out.push_str("%7D"),
                '%' => self.out.push_str("%25"),
                c => self.out.push(c),
            }
        }
        self
    }

    /// A `buffer` field: `#` and each byte as Java's `Integer.toHexString` of the signed
    /// byte (so `0x0a` is `a` and `0xff` is `ffffffff`); empty for an empty or null buffer.
    pub fn buffer(&mut self, b: Option<&[u8]>) -> &mut Self {
        self.sep();
        if let Some(b) = b.filter(|b| !b.is_empty()) {
            self.out.push('#');
            for &x in b {
                self.out
                    .push_str(&format!("{:x}", i32::from(x as i8) as u32));
            }
        }
        self
    }

    /// Opens a nested record.
    pub fn open_record(&mut self) -> &mut Self {
        self.sep();
        self.out.push_str("s{");
        self.first = true;
        self
    }

    /// Closes a nested record.
    pub fn close_record(&mut self) -> &mut Self {
        self.out.push('}');
        self.first = false;
        self
    }

    /// Opens a vector.
    pub fn open_vector(&mut self) -> &mut Self {
        self.sep();
        self.out.push_str("v{");
        self.first = true;
        self
    }

    /// Closes a vector.
    pub fn close_vector(&mut self) -> &mut Self {
        self.out.push('}');
        self.first = false;
        self
    }

    /// The fields of an ACL (`perms,s{'scheme,'id}`), without brackets of its own.
    pub fn acl_fields(&mut self, acl: &Acl) -> &mut Self {
        self.long(i64::from(acl.perms))
            .open_record()
            .string(&acl.id.scheme)
            .string(&acl.id.id)
            .close_record()
    }

    /// A vector of ACLs nested in a record.
    pub fn acl_vector(&mut self, acls: &[Acl]) -> &mut Self {
        self.open_vector();
        for a in acls {
            self.open_record().acl_fields(a).close_record();
        }
        self.close_vector()
    }

    /// Ends the top-level record: the text with its trailing newline.
    pub fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }
}

/// A `java.util.List<ACL>` printed with `toString()`: `[31,s{'world,'anyone}\n]`, elements
/// separated by `, `.
pub fn acl_list(acls: &[Acl]) -> String {
    let items: Vec<String> = acls
        .iter()
        .map(|a| {
            let mut t = RecordText::new();
            t.acl_fields(a);
            t.finish()
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_acl_text_matches_the_reference() {
        let mut t = RecordText::new();
        t.string("/config/app")
            .acl_vector(&[Acl::new(3, "world", "anyone")])
            .long(1);
        assert_eq!(t.finish(), "'/config/app,v{s{3,s{'world,'anyone}}},1\n");
    }

    #[test]
    fn escapes_and_buffers() {
        let mut t = RecordText::new();
        t.string("a,b}%\n")
            .buffer(Some(&[0x0a, 0xff]))
            .buffer(None)
            .bool(true);
        assert_eq!(t.finish(), "'a%2Cb%7D%25%0A,#affffffff,,T\n");
        assert_eq!(
            acl_list(&[
                Acl::new(31, "world", "anyone"),
                Acl::new(1, "ip", "1.2.3.4")
            ]),
            "[31,s{'world,'anyone}\n, 1,s{'ip,'1.2.3.4}\n]"
        );
    }
}
