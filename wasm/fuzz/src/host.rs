//! The engine's host imports (../../src/host.rs), stubbed deterministically.
//! Randomness comes from a fixed-seed generator that the harness swaps in
//! per session, time is a fixed instant unless a script sets another, the
//! record ciphers and signature checks are left to ring, X25519 is ring's
//! natively behind the host's handles, and the pin
//! verdicts are the script's. The stubs also check what the engine hands
//! them: a malformed certificate list, a wrong session or a host cipher
//! used though refused is a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::slice;
use std::sync::{Mutex, MutexGuard};

use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SystemRandom;

use pinned_fetch_engine::wire::{
    Cipher, EntryKind, PathVerdict, SignatureAlgorithm, Stage, Verdict,
};

/// 2027-01-01T00:00:00Z, inside the fixture certificates' validity.
pub const FIXED_NOW_MS: f64 = 1_798_761_600_000.0;

/// SplitMix64: every session's generator starts from the same seed, so a
/// session's handshake is the same whatever else ran before it, and a
/// recorded server's answer (see recorded.rs) stays valid for it.
#[derive(Clone, Copy, Debug)]
pub struct Random(u64);

impl Random {
    pub const fn session() -> Self {
        Self(0x5eed_0f_c11e_47)
    }

    pub const fn server() -> Self {
        Self(0x5eed_0f_5e47_e4)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// What the host does, as a script sets it.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    pub presented_verdict: u32,
    pub path_verdict: u32,
    pub now_ms: f64,
    pub random_fails: bool,
}

impl Behaviour {
    pub const DEFAULT: Self = Self {
        presented_verdict: Verdict::Continue as u32,
        path_verdict: PathVerdict::Accepted as u32,
        now_ms: FIXED_NOW_MS,
        random_fails: false,
    };
}

struct Host {
    behaviour: Behaviour,
    random: Random,
    /// The session the harness is calling into: the only one the engine may name.
    current_session: u32,
    /// Sessions for which this host accepted a certificate or a path.
    accepted: BTreeSet<u32>,
    /// X25519 keys given to the engine by handle; `None` once used for an agreement.
    x25519_keys: BTreeMap<u32, Option<EphemeralPrivateKey>>,
    next_x25519_key: u32,
}

static HOST: Mutex<Host> = Mutex::new(Host {
    behaviour: Behaviour::DEFAULT,
    random: Random::session(),
    current_session: 0,
    accepted: BTreeSet::new(),
    x25519_keys: BTreeMap::new(),
    next_x25519_key: 1,
});

fn host() -> MutexGuard<'static, Host> {
    HOST.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn set_behaviour(behaviour: Behaviour) {
    host().behaviour = behaviour;
}

pub fn behaviour() -> Behaviour {
    host().behaviour
}

/// Forgets every session's verdicts and restores the default behaviour.
pub fn reset() {
    let mut host = host();
    host.behaviour = Behaviour::DEFAULT;
    host.accepted.clear();
}

pub fn forget_session(session: u32) {
    host().accepted.remove(&session);
}

pub fn accepted(session: u32) -> bool {
    host().accepted.contains(&session)
}

/// Runs `call` into the engine on behalf of `session`, drawing randomness from `random`.
pub fn as_session<R>(session: u32, random: &mut Random, call: impl FnOnce() -> R) -> R {
    {
        let mut host = host();
        host.current_session = session;
        host.random = *random;
    }
    let result = call();
    *random = host().random;
    result
}

/// The `len` bytes at `ptr`, every one read, so that AddressSanitizer
/// reports a range the engine hands out that is not all live memory.
pub fn read<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    assert!(!ptr.is_null(), "a null pointer with {len} bytes");
    let bytes = unsafe { slice::from_raw_parts(ptr, len) };
    black_box(bytes.iter().fold(0u8, |sum, byte| sum ^ byte));
    bytes
}

#[unsafe(no_mangle)]
extern "C" fn pf_host_random(ptr: *mut u8, len: usize) -> i32 {
    let mut host = host();
    if host.behaviour.random_fails {
        return 1;
    }
    assert!(
        len <= 65_536,
        "random: {len} bytes in one call, more than crypto.getRandomValues takes"
    );
    host.random
        .fill(unsafe { slice::from_raw_parts_mut(ptr, len) });
    0
}

#[unsafe(no_mangle)]
extern "C" fn now_ms() -> f64 {
    host().behaviour.now_ms
}

#[unsafe(no_mangle)]
extern "C" fn verify_path(session: u32, ptr: *const u8, len: usize, stage: u32) -> u32 {
    let kinds = entry_kinds(read(ptr, len));
    let mut host = host();
    assert_eq!(
        session, host.current_session,
        "verify_path names another session than the one being processed"
    );
    let certificates = kinds
        .iter()
        .take_while(|kind| **kind == EntryKind::Certificate)
        .count();
    assert!(
        certificates > 0,
        "verify_path without a certificate: {kinds:?}"
    );
    let stage =
        Stage::from_number(stage).unwrap_or_else(|| panic!("verify_path at unknown stage {stage}"));
    let verdict = match stage {
        Stage::Presented => {
            assert_eq!(
                certificates,
                kinds.len(),
                "presented certificates with anchor entries: {kinds:?}"
            );
            host.behaviour.presented_verdict
        }
        Stage::Path | Stage::Reported => {
            assert_eq!(
                &kinds[certificates..],
                [EntryKind::AnchorSubject, EntryKind::AnchorSpki],
                "a path must end with its anchor's subject and SPKI: {kinds:?}"
            );
            if stage == Stage::Path {
                host.behaviour.path_verdict
            } else {
                PathVerdict::Accepted as u32
            }
        }
    };
    let accepts = match stage {
        Stage::Presented => verdict == Verdict::LeafTrusted as u32,
        Stage::Path => verdict == PathVerdict::Accepted as u32,
        Stage::Reported => true,
    };
    if accepts {
        host.accepted.insert(session);
    }
    verdict
}

/// The kinds of the `[kind: u8][length: u32 LE][bytes]` entries; panics if they do not fill `encoded` exactly.
fn entry_kinds(mut encoded: &[u8]) -> Vec<EntryKind> {
    let mut kinds = Vec::new();
    while let Some((&kind, rest)) = encoded.split_first() {
        let (len, rest) = rest
            .split_first_chunk::<4>()
            .expect("an entry cut in its length");
        let len = u32::from_le_bytes(*len) as usize;
        assert!(
            len <= rest.len(),
            "an entry of {len} bytes with {} left",
            rest.len()
        );
        kinds.push(
            EntryKind::from_number(kind)
                .unwrap_or_else(|| panic!("an entry of unknown kind {kind}")),
        );
        encoded = &rest[len..];
    }
    kinds
}

/// The host's key handle for ChaCha20-Poly1305, which it never uses (see `aead_in_engine_up_to`).
const CHACHA_KEY: u32 = 1;

/// ChaCha20-Poly1305 only: its records then go through the engine's own record path (aead.rs's `RecordKey`),
/// which the recordings' suite exercises; AES-GCM stays ring's suite.
#[unsafe(no_mangle)]
extern "C" fn aead_supported(cipher: u32) -> u32 {
    let known = Cipher::from_number(cipher)
        .unwrap_or_else(|| panic!("aead_supported: unknown cipher {cipher}"));
    u32::from(known == Cipher::Chacha20Poly1305)
}

/// Every record, whatever its size, stays in the engine: the host's seal and open are never called.
#[unsafe(no_mangle)]
extern "C" fn aead_in_engine_up_to(cipher: u32) -> u32 {
    assert_eq!(
        Cipher::from_number(cipher),
        Some(Cipher::Chacha20Poly1305),
        "aead_in_engine_up_to({cipher}) for a cipher the host has not"
    );
    u32::MAX
}

#[unsafe(no_mangle)]
extern "C" fn aead_key(cipher: u32, _key: *const u8, key_len: usize) -> u32 {
    assert_eq!(
        Cipher::from_number(cipher),
        Some(Cipher::Chacha20Poly1305),
        "aead_key({cipher}) for a cipher the host has not"
    );
    assert_eq!(key_len, 32, "a ChaCha20-Poly1305 key");
    CHACHA_KEY
}

#[unsafe(no_mangle)]
extern "C" fn aead_seal(
    key: u32,
    _: *const u8,
    _: *const u8,
    _: usize,
    _: *mut u8,
    _: usize,
) -> u32 {
    panic!("aead_seal with key {key}: every record should stay in the engine");
}

#[unsafe(no_mangle)]
extern "C" fn aead_open(
    key: u32,
    _: *const u8,
    _: *const u8,
    _: usize,
    _: *mut u8,
    _: usize,
) -> u32 {
    panic!("aead_open with key {key}: every record should stay in the engine");
}

#[unsafe(no_mangle)]
extern "C" fn aead_free(key: u32) {
    assert_eq!(key, CHACHA_KEY, "aead_free of a key the host never gave");
}

/// A key from ring natively, drawn from the session's generator (through the
/// engine's getrandom, as ring in the engine would draw it): the recordings'
/// key shares stay the same. 0 when the generator fails (the engine's ring then fails too).
#[unsafe(no_mangle)]
extern "C" fn x25519_new(public_key: *mut u8) -> u32 {
    // Not under the lock: drawing the key takes it (`pf_host_random`).
    let Ok(key) = EphemeralPrivateKey::generate(&agreement::X25519, &SystemRandom::new()) else {
        return 0;
    };
    let public = key.compute_public_key().expect("an X25519 public key");
    assert!(!public_key.is_null(), "x25519_new: a null public key");
    unsafe { slice::from_raw_parts_mut(public_key, 32) }.copy_from_slice(public.as_ref());
    let mut host = host();
    let handle = host.next_x25519_key;
    host.next_x25519_key += 1;
    host.x25519_keys.insert(handle, Some(key));
    handle
}

/// Each key agrees at most once, and only keys the host gave and the engine has not freed.
#[unsafe(no_mangle)]
extern "C" fn x25519_agree(key: u32, peer: *const u8, secret: *mut u8) -> u32 {
    let peer = read(peer, 32);
    let private = host()
        .x25519_keys
        .get_mut(&key)
        .unwrap_or_else(|| {
            panic!("x25519_agree with key {key} the host never gave or the engine freed")
        })
        .take()
        .unwrap_or_else(|| panic!("x25519_agree with key {key} a second time"));
    assert!(!secret.is_null(), "x25519_agree: a null secret");
    let secret = unsafe { slice::from_raw_parts_mut(secret, 32) };
    let peer = UnparsedPublicKey::new(&agreement::X25519, peer);
    u32::from(
        agreement::agree_ephemeral(private, &peer, |agreed| secret.copy_from_slice(agreed)).is_ok(),
    )
}

#[unsafe(no_mangle)]
extern "C" fn x25519_free(key: u32) {
    assert!(
        host().x25519_keys.remove(&key).is_some(),
        "x25519_free of key {key} the host never gave or the engine freed"
    );
}

/// Never "valid" (1): ring decides every signature.
#[unsafe(no_mangle)]
extern "C" fn verify_signature(
    algorithm: u32,
    spki: *const u8,
    spki_len: usize,
    message: *const u8,
    message_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> u32 {
    assert!(
        SignatureAlgorithm::from_number(algorithm).is_some(),
        "verify_signature: unknown algorithm {algorithm}"
    );
    read(spki, spki_len);
    read(message, message_len);
    read(signature, signature_len);
    0
}
