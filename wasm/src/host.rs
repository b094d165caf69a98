//! The host imports: randomness, wall-clock time, X25519, signature checks, record ciphers and the pin decision.

use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;

use crate::wire::{Cipher, SignatureAlgorithm, Stage};

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    /// Fills `len` bytes at `ptr` with cryptographically secure random bytes; 0 on success.
    // Natively (the fuzz harness) `random` would be libc's.
    #[cfg_attr(not(target_arch = "wasm32"), link_name = "pf_host_random")]
    fn random(ptr: *mut u8, len: usize) -> i32;
    /// Milliseconds since the Unix epoch.
    fn now_ms() -> f64;
    /// Hands certificates of `session` to the pin verifier at `stage`; returns its verdict.
    fn verify_path(session: u32, ptr: *const u8, len: usize, stage: u32) -> u32;
    /// 1 if the host has AEAD `cipher` (see `aead.rs`).
    #[link_name = "aead_supported"]
    fn host_aead_supported(cipher: u32) -> u32;
    /// Records under `cipher` whose sealed payload is at most this many bytes stay with ring (see `aead.rs`).
    #[link_name = "aead_in_engine_up_to"]
    fn host_aead_in_engine_up_to(cipher: u32) -> u32;
    /// A handle to the host's key for `cipher`.
    #[link_name = "aead_key"]
    fn host_aead_key(cipher: u32, key: *const u8, key_len: usize) -> u32;
    /// Encrypts `len` bytes at `buf` in place, the last 16 of them left for the tag; 1 on success.
    #[link_name = "aead_seal"]
    fn host_aead_seal(
        key: u32,
        nonce: *const u8,
        aad: *const u8,
        aad_len: usize,
        buf: *mut u8,
        len: usize,
    ) -> u32;
    /// Decrypts `len` bytes at `buf` (ciphertext, then a 16-byte tag) in place; 1 if authentic.
    #[link_name = "aead_open"]
    fn host_aead_open(
        key: u32,
        nonce: *const u8,
        aad: *const u8,
        aad_len: usize,
        buf: *mut u8,
        len: usize,
    ) -> u32;
    #[link_name = "aead_free"]
    fn host_aead_free(key: u32);
    /// A new X25519 key pair kept by the host: writes its 32-byte public key at `public_key` and returns a
    /// handle to the private key, which never leaves the host; 0 if the host has none (see `kx.rs`).
    #[link_name = "x25519_new"]
    fn host_x25519_new(public_key: *mut u8) -> u32;
    /// Writes the 32-byte secret that `key` agrees with the peer's public key `peer` (32 bytes) at `secret`;
    /// 1 on success, 0 if there is none (an invalid share, or an error in the host).
    #[link_name = "x25519_agree"]
    fn host_x25519_agree(key: u32, peer: *const u8, secret: *mut u8) -> u32;
    #[link_name = "x25519_free"]
    fn host_x25519_free(key: u32);
    /// Checks `signature` of `message` under the DER SubjectPublicKeyInfo `spki` with `algorithm`
    /// (see `signatures.rs`): 1 if the host finds it valid.
    #[link_name = "verify_signature"]
    fn host_verify_signature(
        algorithm: u32,
        spki: *const u8,
        spki_len: usize,
        message: *const u8,
        message_len: usize,
        signature: *const u8,
        signature_len: usize,
    ) -> u32;
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

/// Asks the host about `encoded` certificates of `session` at `stage`.
pub fn ask(session: u32, encoded: &[u8], stage: Stage) -> u32 {
    unsafe { verify_path(session, encoded.as_ptr(), encoded.len(), stage as u32) }
}

/// Asks the host to check a signature (see `signatures.rs`): true only if it finds it valid.
pub fn verify_signature(
    algorithm: SignatureAlgorithm,
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    unsafe {
        host_verify_signature(
            algorithm as u32,
            spki.as_ptr(),
            spki.len(),
            message.as_ptr(),
            message.len(),
            signature.as_ptr(),
            signature.len(),
        ) == 1
    }
}

pub fn aead_supported(cipher: Cipher) -> bool {
    unsafe { host_aead_supported(cipher as u32) == 1 }
}

pub fn aead_in_engine_up_to(cipher: Cipher) -> usize {
    unsafe { host_aead_in_engine_up_to(cipher as u32) as usize }
}

pub fn aead_key(cipher: Cipher, key: &[u8]) -> u32 {
    unsafe { host_aead_key(cipher as u32, key.as_ptr(), key.len()) }
}

pub fn aead_seal(key: u32, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
    unsafe {
        host_aead_seal(
            key,
            nonce.as_ptr(),
            aad.as_ptr(),
            aad.len(),
            buf.as_mut_ptr(),
            buf.len(),
        ) == 1
    }
}

pub fn aead_open(key: u32, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
    unsafe {
        host_aead_open(
            key,
            nonce.as_ptr(),
            aad.as_ptr(),
            aad.len(),
            buf.as_mut_ptr(),
            buf.len(),
        ) == 1
    }
}

pub fn aead_free(key: u32) {
    unsafe { host_aead_free(key) }
}

/// A handle to a new X25519 private key in the host, and its public key; `None` if the host has none.
pub fn x25519_new() -> Option<(u32, [u8; 32])> {
    let mut public_key = [0u8; 32];
    let key = unsafe { host_x25519_new(public_key.as_mut_ptr()) };
    (key != 0).then_some((key, public_key))
}

/// Writes the secret `key` agrees with `peer` into `secret`: false if there is none.
pub fn x25519_agree(key: u32, peer: &[u8; 32], secret: &mut [u8; 32]) -> bool {
    unsafe { host_x25519_agree(key, peer.as_ptr(), secret.as_mut_ptr()) == 1 }
}

pub fn x25519_free(key: u32) {
    unsafe { host_x25519_free(key) }
}

/// The host imports for the crate's unit tests: a test binary needs them to
/// link, and the tests call only `random`.
#[cfg(test)]
mod test_stubs {
    /// A counter, not randomness: ring draws on it to load ECDSA keys, rustls to start a session.
    #[unsafe(no_mangle)]
    extern "C" fn pf_host_random(ptr: *mut u8, len: usize) -> i32 {
        for index in 0..len {
            unsafe { ptr.add(index).write(index as u8) };
        }
        0
    }
    #[unsafe(no_mangle)]
    extern "C" fn now_ms() -> f64 {
        unimplemented!("now_ms")
    }
    #[unsafe(no_mangle)]
    extern "C" fn verify_path(_: u32, _: *const u8, _: usize, _: u32) -> u32 {
        unimplemented!("verify_path")
    }
    /// No native cipher: the suites stay ring's.
    #[unsafe(no_mangle)]
    extern "C" fn aead_supported(_: u32) -> u32 {
        0
    }
    #[unsafe(no_mangle)]
    extern "C" fn aead_in_engine_up_to(_: u32) -> u32 {
        unimplemented!("aead_in_engine_up_to")
    }
    #[unsafe(no_mangle)]
    extern "C" fn aead_key(_: u32, _: *const u8, _: usize) -> u32 {
        unimplemented!("aead_key")
    }
    #[unsafe(no_mangle)]
    extern "C" fn aead_seal(
        _: u32,
        _: *const u8,
        _: *const u8,
        _: usize,
        _: *mut u8,
        _: usize,
    ) -> u32 {
        unimplemented!("aead_seal")
    }
    #[unsafe(no_mangle)]
    extern "C" fn aead_open(
        _: u32,
        _: *const u8,
        _: *const u8,
        _: usize,
        _: *mut u8,
        _: usize,
    ) -> u32 {
        unimplemented!("aead_open")
    }
    #[unsafe(no_mangle)]
    extern "C" fn aead_free(_: u32) {
        unimplemented!("aead_free")
    }
    /// No host X25519: ring's serves.
    #[unsafe(no_mangle)]
    extern "C" fn x25519_new(_: *mut u8) -> u32 {
        0
    }
    #[unsafe(no_mangle)]
    extern "C" fn x25519_agree(_: u32, _: *const u8, _: *mut u8) -> u32 {
        unimplemented!("x25519_agree")
    }
    #[unsafe(no_mangle)]
    extern "C" fn x25519_free(_: u32) {
        unimplemented!("x25519_free")
    }
    #[unsafe(no_mangle)]
    extern "C" fn verify_signature(
        _: u32,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
    ) -> u32 {
        unimplemented!("verify_signature")
    }
}
