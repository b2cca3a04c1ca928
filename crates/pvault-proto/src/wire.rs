//! Primitives of the binary encoding: LEB128 varints, fixed arrays and length-prefixed bytes, with a
//! reader that never reads past its input and never allocates more than the input could hold.

use crate::{ProtoError, Result};

pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub fn array(&mut self, a: &[u8]) {
        self.0.extend_from_slice(a);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

pub(crate) struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        let (&b, rest) = self.0.split_first().ok_or(ProtoError::Truncated(what))?;
        self.0 = rest;
        Ok(b)
    }

    pub fn varint(&mut self, what: &'static str) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            let part = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(ProtoError::BadVarint(what));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                // Canonical form only: no trailing zero groups, so one value has one encoding.
                if i > 0 && b == 0 {
                    return Err(ProtoError::BadVarint(what));
                }
                return Ok(v);
            }
        }
        Err(ProtoError::BadVarint(what))
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(ProtoError::Truncated(what))?;
        self.0 = rest;
        Ok(*head)
    }

    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8]> {
        let len = self.varint(what)?;
        if len > max as u64 {
            return Err(ProtoError::TooLarge(what));
        }
        let len = len as usize;
        if len > self.0.len() {
            return Err(ProtoError::Truncated(what));
        }
        let (b, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(b)
    }

    /// A count of items, each at least `min_item` bytes: refused when the rest of the input could not
    /// hold that many, so a forged count cannot make the decoder reserve memory.
    pub fn count(&mut self, what: &'static str, max: usize, min_item: usize) -> Result<usize> {
        let n = self.varint(what)?;
        if n > max as u64 {
            return Err(ProtoError::TooLarge(what));
        }
        if n.saturating_mul(min_item as u64) > self.0.len() as u64 {
            return Err(ProtoError::Truncated(what));
        }
        Ok(n as usize)
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ProtoError::TrailingBytes(self.0.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong_forms() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer(Vec::new());
            w.varint(v);
            let mut r = Reader(&w.0);
            assert_eq!(r.varint("v").unwrap(), v);
            r.finish().unwrap();
        }
        // 0 written in two bytes is not canonical.
        assert_eq!(
            Reader(&[0x80, 0x00]).varint("v"),
            Err(ProtoError::BadVarint("v"))
        );
        // Eleven bytes, or a tenth byte above 1, overflow u64.
        assert!(Reader(&[0xff; 11]).varint("v").is_err());
        assert!(
            Reader(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .varint("v")
                .is_err()
        );
    }

    #[test]
    fn counts_larger_than_the_input_are_refused_before_allocating() {
        let mut w = Writer(Vec::new());
        w.varint(1_000_000);
        assert_eq!(
            Reader(&w.0).count("items", usize::MAX, 16),
            Err(ProtoError::Truncated("items"))
        );
    }
}
