//! The token parser: any string offered as a bearer token is refused as `Unauthorized` (never a
//! panic, never another error), unless it is the one real token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelyard::Error;
use modelyard_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let token = String::from_utf8_lossy(data);
    match h.runtime.block_on(h.yard.session(&token)) {
        Ok(_) => assert_eq!(token, h.token, "only the real token signs in"),
        Err(Error::Unauthorized(_)) => {}
        Err(err) => panic!("a token of {} bytes: {err:?}", data.len()),
    }
});
