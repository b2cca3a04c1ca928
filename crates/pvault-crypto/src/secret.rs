//! Key material in memory: zeroized on drop, never `Clone`, `Copy` or printable.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// 32 bytes of secret key material.
///
/// Not `Clone` and not `Debug`-printable on purpose: a copy must be made with [`Key32::duplicate`], so it
/// shows in review, and printing shows only `Key32(..)`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Key32(Box<[u8; 32]>);

impl Key32 {
    /// Wraps existing bytes (the caller's copy should be zeroized by the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        let mut boxed = Box::new([0u8; 32]);
        boxed.copy_from_slice(bytes.as_ref());
        bytes.zeroize();
        Key32(boxed)
    }

    /// Fresh random key from the operating system's generator.
    pub fn random() -> Self {
        let mut k = Box::new([0u8; 32]);
        crate::random::fill(&mut k[..]);
        Key32(k)
    }

    /// The raw bytes. Named so that every use is visible in review.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// An explicit copy.
    pub fn duplicate(&self) -> Self {
        Key32(Box::new(*self.0))
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32(..)")
    }
}

/// Secret bytes of any length (plaintexts, passwords), zeroized on drop.
pub type SecretVec = Zeroizing<Vec<u8>>;
