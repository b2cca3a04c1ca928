//! The one source of randomness: the operating system's generator, through aws-lc.

/// Fills `buf` with random bytes. Panics only if the OS generator is unavailable, which no caller could
/// recover from safely.
pub fn fill(buf: &mut [u8]) {
    aws_lc_rs::rand::fill(buf).expect("operating system random generator failed");
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill(&mut b);
    b
}
