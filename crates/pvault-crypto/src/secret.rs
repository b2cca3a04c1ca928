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

/// Secret bytes of any length (decrypted plaintexts, transferred keys), wiped on drop.
///
/// The whole allocation (spare capacity too) is wiped through zeroize's slice path, which is several
/// times faster than `Zeroizing<Vec<u8>>`'s element-by-element wipe on large plaintexts.
pub struct SecretVec(Vec<u8>);

impl SecretVec {
    /// Takes ownership of bytes to wipe on drop.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretVec(bytes)
    }
}

impl std::ops::Deref for SecretVec {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for SecretVec {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for SecretVec {
    fn drop(&mut self) {
        let capacity = self.0.capacity();
        self.0.resize(capacity, 0);
        self.0.as_mut_slice().zeroize();
    }
}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretVec(..)")
    }
}
