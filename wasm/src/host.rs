//! The host imports: randomness, wall-clock time and the pin decision.

use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    /// Fills `len` bytes at `ptr` with cryptographically secure random bytes; 0 on success.
    fn random(ptr: *mut u8, len: usize) -> i32;
    /// Milliseconds since the Unix epoch.
    fn now_ms() -> f64;
    /// Hands the verified path of `session` to the pin verifier; 0 accepts it.
    fn verify_path(session: u32, ptr: *const u8, len: usize) -> i32;
}

/// The host's `crypto.getRandomValues` takes at most 65,536 bytes per call.
const RANDOM_CHUNK: usize = 65_536;

fn host_getrandom(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    for chunk in buf.chunks_mut(RANDOM_CHUNK) {
        if unsafe { random(chunk.as_mut_ptr(), chunk.len()) } != 0 {
            return Err(getrandom::Error::UNEXPECTED);
        }
    }
    Ok(())
}

getrandom::register_custom_getrandom!(host_getrandom);

#[derive(Debug)]
pub struct HostTime;

impl TimeProvider for HostTime {
    fn current_time(&self) -> Option<UnixTime> {
        let ms = unsafe { now_ms() };
        (ms.is_finite() && ms >= 0.0)
            .then(|| UnixTime::since_unix_epoch(core::time::Duration::from_millis(ms as u64)))
    }
}

/// Asks the host whether the verified path `encoded` satisfies `session`'s pins.
pub fn pins_accept(session: u32, encoded: &[u8]) -> bool {
    unsafe { verify_path(session, encoded.as_ptr(), encoded.len()) == 0 }
}
