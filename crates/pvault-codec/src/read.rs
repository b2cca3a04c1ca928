//! The reader: takes fields off the front of a byte slice.

use crate::{CodecError, Result};

/// Reads fields off the front of a byte slice. It never reads past its input, and it never allocates:
/// byte fields are borrowed from the input, and a length or count is checked against the bytes left
/// before the caller can act on it. Every read names `what` it reads, for the error.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { rest: input }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(CodecError::Truncated(what));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// The next `N` bytes, as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(CodecError::Truncated(what))?;
        self.rest = rest;
        Ok(*head)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        let (&b, rest) = self.rest.split_first().ok_or(CodecError::Truncated(what))?;
        self.rest = rest;
        Ok(b)
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16> {
        self.array(what).map(u16::from_be_bytes)
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        self.array(what).map(u32::from_be_bytes)
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// An LEB128 varint, in canonical form only: no trailing zero groups and nothing beyond `u64`, so
    /// one value has exactly one encoding.
    pub fn varint(&mut self, what: &'static str) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            let part = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(CodecError::BadVarint(what));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(CodecError::BadVarint(what));
                }
                return Ok(v);
            }
        }
        Err(CodecError::BadVarint(what))
    }

    /// Bytes behind a big-endian `u32` length; a length above `max` is [`CodecError::TooLarge`]
    /// (checked before whether the input holds that many bytes).
    pub fn u32_bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8]> {
        let len = self.u32(what)?;
        self.sized(u64::from(len), what, max)
    }

    /// Bytes behind a varint length; a length above `max` is [`CodecError::TooLarge`] (checked before
    /// whether the input holds that many bytes).
    pub fn varint_bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8]> {
        let len = self.varint(what)?;
        self.sized(len, what, max)
    }

    fn sized(&mut self, len: u64, what: &'static str, max: usize) -> Result<&'a [u8]> {
        if len > max as u64 {
            return Err(CodecError::TooLarge(what));
        }
        // `len <= max` fits in usize.
        self.take(len as usize, what)
    }

    /// A varint count of items, each at least `min_item` bytes: above `max` it is
    /// [`CodecError::TooLarge`]; more than the rest of the input could hold is
    /// [`CodecError::Truncated`], so a forged count cannot make the caller reserve memory.
    pub fn count(&mut self, what: &'static str, max: usize, min_item: usize) -> Result<usize> {
        let n = self.varint(what)?;
        if n > max as u64 {
            return Err(CodecError::TooLarge(what));
        }
        if n.saturating_mul(min_item as u64) > self.rest.len() as u64 {
            return Err(CodecError::Truncated(what));
        }
        Ok(n as usize)
    }

    /// Ends the reading: [`CodecError::TrailingBytes`] when input is left over.
    pub fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;

    #[test]
    fn varints_round_trip_and_reject_overlong_forms() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut w = Writer::new();
            w.varint(v);
            let bytes = w.into_inner();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint("v").unwrap(), v);
            r.finish().unwrap();
            // Every strict prefix is cut short.
            for cut in 0..bytes.len() {
                assert_eq!(
                    Reader::new(&bytes[..cut]).varint("v"),
                    Err(CodecError::Truncated("v"))
                );
            }
        }
        // 0 written in two bytes, 1 in three: not canonical.
        assert_eq!(
            Reader::new(&[0x80, 0x00]).varint("v"),
            Err(CodecError::BadVarint("v"))
        );
        assert_eq!(
            Reader::new(&[0x81, 0x80, 0x00]).varint("v"),
            Err(CodecError::BadVarint("v"))
        );
        // Eleven bytes, or a tenth byte above 1, overflow u64.
        assert_eq!(
            Reader::new(&[0xff; 11]).varint("v"),
            Err(CodecError::BadVarint("v"))
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).varint("v"),
            Err(CodecError::BadVarint("v"))
        );
        // A tenth byte of 0 is an overlong form too.
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]).varint("v"),
            Err(CodecError::BadVarint("v"))
        );
    }

    #[test]
    fn every_field_round_trips_and_every_truncation_names_its_field() {
        let mut w = Writer::new();
        w.u8(7);
        w.u16(0xbeef);
        w.u32(0xdead_beef);
        w.u64(u64::MAX - 1);
        w.varint(300);
        w.raw(&[1, 2, 3, 4]);
        w.u32_bytes(b"framed");
        w.varint_bytes(b"blob");
        let bytes = w.into_inner();

        let read = |bytes: &[u8]| -> Result<()> {
            let mut r = Reader::new(bytes);
            assert_eq!(r.u8("a")?, 7);
            assert_eq!(r.u16("b")?, 0xbeef);
            assert_eq!(r.u32("c")?, 0xdead_beef);
            assert_eq!(r.u64("d")?, u64::MAX - 1);
            assert_eq!(r.varint("e")?, 300);
            assert_eq!(r.array::<4>("f")?, [1, 2, 3, 4]);
            assert_eq!(r.u32_bytes("g", 6)?, b"framed");
            assert_eq!(r.varint_bytes("h", 4)?, b"blob");
            r.finish()
        };
        read(&bytes).unwrap();
        let mut r = Reader::new(&bytes);
        r.take(31, "head").unwrap();
        assert_eq!(r.remaining(), 5);
        let field_ends = [
            (1, "a"),
            (3, "b"),
            (7, "c"),
            (15, "d"),
            (17, "e"),
            (21, "f"),
        ];
        for cut in 0..bytes.len() {
            let err = read(&bytes[..cut]).unwrap_err();
            let want = field_ends
                .iter()
                .find(|(end, _)| cut < *end)
                .map_or(if cut < 31 { "g" } else { "h" }, |(_, w)| *w);
            assert_eq!(err, CodecError::Truncated(want), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.extend_from_slice(&[0, 0]);
        assert_eq!(read(&extra), Err(CodecError::TrailingBytes(2)));
    }

    #[test]
    fn a_length_above_the_limit_is_too_large_before_it_is_truncated() {
        let mut w = Writer::new();
        w.varint(1 << 40);
        let bytes = w.into_inner();
        assert_eq!(
            Reader::new(&bytes).varint_bytes("blob", 1 << 20),
            Err(CodecError::TooLarge("blob"))
        );
        assert_eq!(
            Reader::new(&bytes).varint_bytes("blob", usize::MAX),
            Err(CodecError::Truncated("blob"))
        );
        assert_eq!(
            Reader::new(&[0, 0, 0, 9, 1]).u32_bytes("item", 8),
            Err(CodecError::TooLarge("item"))
        );
        assert_eq!(
            Reader::new(&[0, 0, 0, 9, 1]).u32_bytes("item", 9),
            Err(CodecError::Truncated("item"))
        );
        assert_eq!(Reader::new(&[0, 0, 0, 0]).u32_bytes("item", 0), Ok(&[][..]));
    }

    #[test]
    fn counts_larger_than_the_input_are_refused_before_allocating() {
        let mut w = Writer::new();
        w.varint(1_000_000);
        let bytes = w.into_inner();
        assert_eq!(
            Reader::new(&bytes).count("items", usize::MAX, 16),
            Err(CodecError::Truncated("items"))
        );
        assert_eq!(
            Reader::new(&bytes).count("items", 10, 0),
            Err(CodecError::TooLarge("items"))
        );
        let mut r = Reader::new(&[2, 0, 0, 0, 0]);
        assert_eq!(r.count("items", 2, 2), Ok(2));
        assert_eq!(r.remaining(), 4);
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).count(
                "items",
                usize::MAX,
                usize::MAX
            ),
            Err(CodecError::Truncated("items"))
        );
    }

    #[test]
    fn take_borrows_from_the_input() {
        let input = b"abcdef";
        let mut r = Reader::new(input);
        let a = r.take(2, "a").unwrap();
        assert_eq!(a.as_ptr(), input.as_ptr());
        assert_eq!(r.take(5, "b"), Err(CodecError::Truncated("b")));
        // A failed read consumes nothing.
        assert_eq!(r.take(4, "b"), Ok(&b"cdef"[..]));
        r.finish().unwrap();
    }
}
