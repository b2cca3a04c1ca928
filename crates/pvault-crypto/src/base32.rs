//! Crockford base32 (no padding, upper case), used for Secret Keys and record ids: no I, L, O, U, so
//! a human can read it aloud and type it back.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes bytes, 5 bits per character, most significant first.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes a string of `expected_len` bytes; accepts lower case and the usual misreadings
/// (O for 0, I and L for 1). Returns `None` for any other character or a wrong length.
pub fn decode(s: &str, expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.chars() {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        let v = ALPHABET.iter().position(|&a| a as char == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding and fewer than 5.
    if out.len() != expected_len || bits >= 5 || acc != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8)
                .map(|i| i.wrapping_mul(37).wrapping_add(11))
                .collect();
            let s = encode(&data);
            assert_eq!(decode(&s, len).unwrap(), data, "len {len}");
            assert_eq!(decode(&s.to_lowercase(), len).unwrap(), data);
        }
    }

    #[test]
    fn rejects_bad_characters_and_lengths() {
        assert!(decode("U0", 1).is_none());
        assert!(decode("00", 2).is_none());
        assert_eq!(decode("0O", 1), Some(vec![0]));
    }
}
