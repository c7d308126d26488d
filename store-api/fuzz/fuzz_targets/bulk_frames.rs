//! Arbitrary bytes as a bulk body answer (`POST .../bodies`) read by the
//! store client: never a panic, never more frames or bytes than the limits,
//! and every decoded body lies inside the input.
#![no_main]

use bytes::Bytes;
use kc_store_api::frames::{decode, FrameLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits {
        max_frames: 64,
        max_total: 1 << 16,
    };
    let buf = Bytes::copy_from_slice(data);
    if let Ok(frames) = decode(&buf, limits) {
        assert!(frames.len() <= 64);
        let total: usize = frames.iter().map(|(_, b)| b.len()).sum();
        assert!(total as u64 <= 1 << 16 && total <= data.len());
        assert!(frames.iter().all(|(uid, _)| *uid > 0));
    }
});
