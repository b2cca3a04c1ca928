//! The writer: appends fields to a `Vec<u8>`.

/// Appends fields to a byte buffer: integers big-endian, LEB128 varints, raw bytes, and bytes behind a
/// u32 or varint length. Writing cannot fail; [`Writer::into_inner`] hands back the bytes.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A `u16`, big-endian.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `u32`, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `u64`, big-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `u64` as an LEB128 varint (the canonical, shortest form: 1 to 10 bytes).
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// Bytes as they are, without a length (fixed-size fields: magic, ids, hashes).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes behind their length as a big-endian `u32`.
    ///
    /// # Panics
    ///
    /// When `bytes` is 4 GiB or longer (its length does not fit the prefix).
    pub fn u32_bytes(&mut self, bytes: &[u8]) {
        self.u32(u32_len(bytes));
        self.raw(bytes);
    }

    /// Bytes behind their length as a varint.
    pub fn varint_bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.raw(bytes);
    }

    /// The bytes written.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

/// The length of `bytes` as a u32 prefix. A longer input would make the prefix lie about where the
/// field ends, so it is refused loudly rather than truncated.
pub(crate) fn u32_len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("a u32-length-prefixed field is 4 GiB or longer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_varints_shortest() {
        let mut w = Writer::new();
        w.u8(1);
        w.u16(0x0203);
        w.u32(0x0405_0607);
        w.u64(0x0809_0a0b_0c0d_0e0f);
        w.varint(0);
        w.varint(127);
        w.varint(128);
        w.varint(300);
        assert_eq!(
            w.into_inner(),
            [
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0x7f, 0x80, 0x01, 0xac, 0x02
            ]
        );
        let mut w = Writer::new();
        w.varint(u64::MAX);
        assert_eq!(
            w.into_inner(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn length_prefixes() {
        let mut w = Writer::with_capacity(16);
        w.u32_bytes(b"abc");
        w.varint_bytes(b"de");
        w.raw(b"f");
        w.u32_bytes(b"");
        assert_eq!(w.into_inner(), b"\0\0\0\x03abc\x02def\0\0\0\0");
    }
}
