//! Jute, ZooKeeper's serialization: big-endian integers, length-prefixed buffers, strings
//! and vectors, with `-1` standing for null. A record is its fields in order, untagged.
//!
//! Strings are written the way Java's jute writes them: every UTF-16 unit on its own, so a
//! character outside the Basic Multilingual Plane becomes two three-byte surrogates
//! (CESU-8). Reading accepts both that and plain UTF-8, since clients in other languages
//! send the latter.

use crate::error::JuteError;

/// A cursor over bytes received from a client or read from a file.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unconsumed bytes.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes `n` bytes.
    ///
    /// # Errors
    /// [`JuteError::Truncated`] when fewer than `n` bytes are left.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated {
                offset: self.pos,
                wanted: n,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], JuteError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Reads a jute `int`.
    ///
    /// # Errors
    /// [`JuteError::Truncated`] at the end of input.
    pub fn read_i32(&mut self) -> Result<i32, JuteError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// Reads a jute `long`.
    ///
    /// # Errors
    /// [`JuteError::Truncated`] at the end of input.
    pub fn read_i64(&mut self) -> Result<i64, JuteError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Reads a jute `boolean` (one byte, non-zero is true).
    ///
    /// # Errors
    /// [`JuteError::Truncated`] at the end of input.
    pub fn read_bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.take(1)?[0] != 0)
    }

    fn read_len(&mut self) -> Result<Option<usize>, JuteError> {
        let at = self.pos;
        let n = self.read_i32()?;
        if n < 0 {
            return Ok(None);
        }
        let n = n as usize;
        if n > self.remaining() {
            return Err(JuteError::BadLength { offset: at, len: n });
        }
        Ok(Some(n))
    }

    /// Reads a jute `buffer`; `None` is the null buffer (length −1).
    ///
    /// # Errors
    /// [`JuteError::BadLength`] when the length runs past the input.
    pub fn read_buffer(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        match self.read_len()? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n)?.to_vec())),
        }
    }

    /// Reads a jute `ustring`; `None` is the null string.
    ///
    /// # Errors
    /// [`JuteError::BadLength`] or [`JuteError::BadString`].
    pub fn read_ustring(&mut self) -> Result<Option<String>, JuteError> {
        let at = self.pos;
        match self.read_len()? {
            None => Ok(None),
            Some(n) => decode_string(self.take(n)?)
                .map(Some)
                .ok_or(JuteError::BadString { offset: at }),
        }
    }

    /// Reads a vector count; `None` is the null vector. The count is checked against the
    /// bytes left (every element takes at least one byte), so a hostile count cannot make
    /// the reader allocate without bound.
    ///
    /// # Errors
    /// [`JuteError::BadLength`] when the count is impossible.
    pub fn read_vec_len(&mut self) -> Result<Option<usize>, JuteError> {
        self.read_len()
    }
}

/// Decodes UTF-8, falling back to CESU-8 as Java writes it.
fn decode_string(b: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(b) {
        return Some(s.to_owned());
    }
    let mut units: Vec<u16> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (unit, len) = if c < 0x80 {
            (u16::from(c), 1)
        } else if c & 0xE0 == 0xC0 && i + 1 < b.len() {
            ((u16::from(c & 0x1F) << 6) | u16::from(b[i + 1] & 0x3F), 2)
        } else if c & 0xF0 == 0xE0 && i + 2 < b.len() {
            (
                (u16::from(c & 0x0F) << 12)
                    | (u16::from(b[i + 1] & 0x3F) << 6)
                    | u16::from(b[i + 2] & 0x3F),
                3,
            )
        } else {
            return None;
        };
        units.push(unit);
        i += len;
    }
    String::from_utf16(&units).ok()
}

/// Appends jute encodings to a byte vector.
pub trait Writer {
    /// Writes a jute `int`.
    fn put_i32(&mut self, v: i32);
    /// Writes a jute `long`.
    fn put_i64(&mut self, v: i64);
    /// Writes a jute `boolean`.
    fn put_bool(&mut self, v: bool);
    /// Writes a jute `buffer`; `None` is written as length −1.
    fn put_buffer(&mut self, v: Option<&[u8]>);
    /// Writes a jute `ustring` the way Java does.
    fn put_ustring(&mut self, v: Option<&str>);
}

impl Writer for Vec<u8> {
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bool(&mut self, v: bool) {
        self.push(u8::from(v));
    }
    fn put_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_i32(b.len() as i32);
                self.extend_from_slice(b);
            }
        }
    }
    fn put_ustring(&mut self, v: Option<&str>) {
        let Some(s) = v else {
            self.put_i32(-1);
            return;
        };
        if s.chars().all(|c| (c as u32) < 0x10000) {
            self.put_buffer(Some(s.as_bytes()));
            return;
        }
        let mut out = Vec::with_capacity(s.len() + 8);
        for unit in s.encode_utf16() {
            let mut tmp = [0u8; 3];
            let enc: &[u8] = if unit < 0x80 {
                tmp[0] = unit as u8;
                &tmp[..1]
            } else if unit < 0x800 {
                tmp[0] = 0xC0 | (unit >> 6) as u8;
                tmp[1] = 0x80 | (unit & 0x3F) as u8;
                &tmp[..2]
            } else {
                tmp[0] = 0xE0 | (unit >> 12) as u8;
                tmp[1] = 0x80 | ((unit >> 6) & 0x3F) as u8;
                tmp[2] = 0x80 | (unit & 0x3F) as u8;
                &tmp[..3]
            };
            out.extend_from_slice(enc);
        }
        self.put_buffer(Some(&out));
    }
}

/// A value with a jute encoding.
pub trait Jute: Sized {
    /// Decodes one value.
    ///
    /// # Errors
    /// Any [`JuteError`] when the bytes do not hold a value of this type.
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError>;
    /// Appends the encoding of `self`.
    fn write(&self, w: &mut Vec<u8>);

    /// Decodes a value from the start of `bytes`, ignoring any bytes after it.
    ///
    /// # Errors
    /// As [`Jute::read`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, JuteError> {
        Self::read(&mut Reader::new(bytes))
    }

    /// Encodes `self` into a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

impl Jute for i32 {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_i32()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(*self);
    }
}

impl Jute for i64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_i64()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i64(*self);
    }
}

impl Jute for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_bool()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_bool(*self);
    }
}

/// A `ustring`; the null string reads as empty.
impl Jute for String {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.read_ustring()?.unwrap_or_default())
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_ustring(Some(self));
    }
}

/// A `buffer` that may be null, as znode data may be.
impl Jute for Option<Vec<u8>> {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_buffer()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_buffer(self.as_deref());
    }
}

/// A `buffer` where null and empty mean the same.
impl Jute for Vec<u8> {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.read_buffer()?.unwrap_or_default())
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_buffer(Some(self));
    }
}

/// A jute `vector`; the null vector reads as empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JVec<T>(pub Vec<T>);

impl<T: Jute> Jute for JVec<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        let n = r.read_vec_len()?.unwrap_or(0);
        let mut v = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            v.push(T::read(r)?);
        }
        Ok(JVec(v))
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.0.len() as i32);
        for x in &self.0 {
            x.write(w);
        }
    }
}

impl<T> std::ops::Deref for JVec<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> From<Vec<T>> for JVec<T> {
    fn from(v: Vec<T>) -> Self {
        JVec(v)
    }
}

/// Declares a jute record: a struct whose encoding is its fields in order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl $crate::jute::Jute for $name {
            #[allow(unused_variables)]
            fn read(r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::error::JuteError> {
                Ok(Self { $($field: $crate::jute::Jute::read(r)?),* })
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut Vec<u8>) {
                $($crate::jute::Jute::write(&self.$field, w);)*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_in_java_encoding() {
        for s in ["", "/a", "/ünïcödé", "/emoji-😀"] {
            let mut v = Vec::new();
            v.put_ustring(Some(s));
            assert_eq!(Reader::new(&v).read_ustring().unwrap().as_deref(), Some(s));
        }
        let mut v = Vec::new();
        v.put_ustring(Some("😀"));
        // two surrogates of three bytes each, after the 4-byte length
        assert_eq!(v.len(), 4 + 6);
    }

    #[test]
    fn null_and_hostile_lengths() {
        let mut v = Vec::new();
        v.put_buffer(None);
        assert_eq!(Reader::new(&v).read_buffer().unwrap(), None);
        let bad = [0x7f, 0xff, 0xff, 0xff, 1];
        assert!(matches!(
            Reader::new(&bad).read_buffer(),
            Err(JuteError::BadLength { .. })
        ));
        assert!(JVec::<i64>::from_bytes(&bad).is_err());
    }
}
