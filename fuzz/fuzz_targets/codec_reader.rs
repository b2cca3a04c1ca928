//! pvault-codec's Reader never panics, never reads past its input, and what it reads is the input's
//! own bytes: an accepted varint re-encodes to exactly the bytes it consumed (one value, one
//! encoding), and a length-prefixed field is the bytes after its prefix. Each input is its own
//! program: a byte picks the next read, and the reads consume the bytes that follow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_codec::{CodecError, Reader, Writer};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    loop {
        let Ok(op) = r.u8("op") else { break };
        let start = data.len() - r.remaining();
        // A limit that is sometimes below the lengths the input claims.
        let max = usize::from(op >> 4) * 64;
        let ok = match op % 9 {
            0 => r.u8("u8").is_ok(),
            1 => r.u16("u16").is_ok(),
            2 => r.u32("u32").is_ok(),
            3 => r.u64("u64").is_ok(),
            4 => r.array::<16>("array").is_ok(),
            5 => match r.varint("varint") {
                Ok(v) => {
                    let mut w = Writer::new();
                    w.varint(v);
                    assert_eq!(w.into_inner(), &data[start..data.len() - r.remaining()]);
                    true
                }
                Err(e) => {
                    assert!(matches!(
                        e,
                        CodecError::Truncated(_) | CodecError::BadVarint(_)
                    ));
                    false
                }
            },
            6 => match r.u32_bytes("u32 bytes", max) {
                Ok(b) => {
                    assert!(b.len() <= max);
                    let end = data.len() - r.remaining();
                    assert_eq!(b, &data[start + 4..end]);
                    true
                }
                Err(_) => false,
            },
            7 => match r.varint_bytes("varint bytes", max) {
                Ok(b) => {
                    assert!(b.len() <= max);
                    let end = data.len() - r.remaining();
                    assert_eq!(b, &data[end - b.len()..end]);
                    true
                }
                Err(_) => false,
            },
            _ => match r.count("count", max, usize::from(op & 0x0f)) {
                // A count the rest of the input could not hold is refused.
                Ok(n) => {
                    assert!(n <= max && n * usize::from(op & 0x0f) <= r.remaining());
                    true
                }
                Err(_) => false,
            },
        };
        assert!(data.len() - r.remaining() >= start);
        if !ok {
            break;
        }
    }
    let left = r.remaining();
    match r.finish() {
        Ok(()) => assert_eq!(left, 0),
        Err(e) => assert_eq!(e, CodecError::TrailingBytes(left)),
    }
});
