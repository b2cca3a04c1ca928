//! The agent's frame decoder: `read_frame` must never panic on any bytes, and whatever request it
//! accepts must encode and decode to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_core::agent::{Request, read_frame, write_frame};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    if let Ok(Some(req)) = read_frame::<Request>(&mut input) {
        let mut again = Vec::new();
        write_frame(&mut again, &req).expect("an accepted request encodes");
        let back: Request = read_frame(&mut again.as_slice())
            .expect("decodes")
            .expect("one frame");
        assert_eq!(format!("{back:?}"), format!("{req:?}"));
    }
});
