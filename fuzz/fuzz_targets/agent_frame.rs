//! The agent's frame decoder: `read_frame_bytes` and `decode_frame` must never panic on any bytes,
//! and whatever request they accept must encode and decode to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_core::agent::{Frame, Request, decode_frame, read_frame_bytes, write_frame};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let Ok(Some(body)) = read_frame_bytes(&mut input) else {
        return;
    };
    if let Ok(req) = decode_frame::<Request>(&body) {
        let mut again = Vec::new();
        write_frame(&mut again, &Frame::new(&req)).expect("an accepted request encodes");
        let body = read_frame_bytes(&mut again.as_slice())
            .expect("reads")
            .expect("one frame");
        let back: Request = decode_frame(&body).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{req:?}"));
    }
});
