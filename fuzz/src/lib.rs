//! Fixed keys and places shared by the fuzz targets and the seed corpus generator.

use pvault_crypto::envelope::{Aad, Kind};
use pvault_crypto::{Classification, CollectionKeys, KdfParams, Key32, ProfileId};

/// The profile every fuzzed envelope belongs to.
pub const PROFILE: ProfileId = ProfileId(*b"pvault-fuzzing-1");

/// The password of the seed key file; `keyfile_decode` unlocks with it.
pub const PASSWORD: &[u8] = b"fuzz";

/// The cheapest KDF cost; `keyfile_decode` only unlocks files that ask for no more.
pub const FAST: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

/// The AES-256-GCM key of `envelope_open` (also its key-encryption key for `unwrap`).
pub const DATA_KEY: [u8; 32] = [0x11; 32];
/// The XChaCha20-Poly1305 key of `envelope_open`.
pub const CASCADE_KEY: [u8; 32] = [0x22; 32];

/// The keys `envelope_open` opens with (epoch 1).
pub fn keys() -> CollectionKeys {
    keys_with_id(1)
}

/// The same keys under another key id.
pub fn keys_with_id(key_id: u32) -> CollectionKeys {
    CollectionKeys::new(
        key_id,
        &Key32::from_bytes(DATA_KEY),
        &Key32::from_bytes(CASCADE_KEY),
    )
}

/// The places `envelope_open` tries: one single-layer, one cascade.
pub fn places() -> [Aad<'static>; 2] {
    let place = |collection, record_id, classification| Aad {
        profile: &PROFILE,
        kind: Kind::Record,
        collection,
        record_id,
        classification,
    };
    [
        place("notes", "r1", Classification::Internal),
        place("research", "r2", Classification::Secret),
    ]
}
