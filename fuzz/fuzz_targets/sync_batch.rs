//! The sync server's and client's binary decoders never panic, accept exactly one encoding of each
//! message (what they accept re-encodes to the same bytes), and a first byte picks the message type
//! so one input exercises all three.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_proto::batch::{PullPage, PushRequest, PushResult};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = PushRequest::decode(data) {
        assert_eq!(m.encode(), data);
    }
    if let Ok(m) = PushResult::decode(data) {
        assert_eq!(m.encode(), data);
    }
    if let Ok(m) = PullPage::decode(data) {
        assert_eq!(m.encode(), data);
        // A page's shape holds: no gaps, end is its last change, blobs match their hashes.
        let mut seq = m.since;
        for c in &m.changes {
            seq += 1;
            assert_eq!(c.seq, seq);
            if let Some(b) = &c.blob {
                assert_eq!(pvault_proto::chain::blob_hash(b), c.blob_hash);
            }
        }
        assert_eq!(m.end.seq, seq);
    }
});
