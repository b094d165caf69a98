//! The exported functions. Handles are non-zero; 0 means failure. After each
//! session call, `pf_result` points at a `wire::StepResult` that describes
//! what the host must take.

use alloc::alloc::{Layout, alloc, dealloc};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::slice;

use rustls::ClientConfig;
use rustls::sign::CertifiedKey;

use crate::config::new_config;
use crate::identity::new_identity;
use crate::session::{Action, Session};
use crate::slab::{Global, Slab};
use crate::wipe;
use crate::wire::{ABI_VERSION, Groups, IdentityRefusal, KeyFormat, StepResult};

static IDENTITIES: Global<Slab<Arc<CertifiedKey>>> = Global::new(Slab::new());
/// Why the last `pf_identity_new` that returned 0 refused.
static IDENTITY_REFUSAL: Global<IdentityRefusal> = Global::new(IdentityRefusal::Unparsable);
static CONFIGS: Global<Slab<Arc<ClientConfig>>> = Global::new(Slab::new());
static SESSIONS: Global<Slab<Session>> = Global::new(Slab::new());
static RESULT: Global<StepResult> = Global::new(StepResult::EMPTY);

/// The version of the ABI this engine speaks (see wire.rs); the host checks it before any other call.
#[unsafe(no_mangle)]
pub extern "C" fn pf_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the host to fill (at least 1, so the pointer is real).
#[unsafe(no_mangle)]
pub extern "C" fn pf_alloc(len: usize) -> *mut u8 {
    match Layout::from_size_align(len.max(1), 1) {
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => core::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_free(ptr: *mut u8, len: usize) {
    if let Ok(layout) = Layout::from_size_align(len.max(1), 1) {
        unsafe { dealloc(ptr, layout) }
    }
}

/// Bytes the engine has allocated and not freed (the soak test watches them return to where they were).
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn pf_allocated() -> usize {
    crate::allocator::in_use()
}

#[unsafe(no_mangle)]
pub extern "C" fn pf_result() -> *const StepResult {
    RESULT.get()
}

/// `input`: the key's `KeyFormat` (u32 LE), its length (u32 LE) and DER, then
/// the certificates as DER, the leaf first, each preceded by its length (u32
/// LE). The key's bytes in `input` are wiped before this returns. 0 if
/// refused: `pf_identity_refusal` says why.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_identity_new(ptr: *mut u8, len: usize) -> u32 {
    let input = unsafe { bytes_mut(ptr, len) };
    match identity_from_input(input) {
        Ok(identity) => IDENTITIES.get().insert(identity),
        Err(refusal) => {
            *IDENTITY_REFUSAL.get() = refusal;
            0
        }
    }
}

/// The `IdentityRefusal` of the last `pf_identity_new` that returned 0.
#[unsafe(no_mangle)]
pub extern "C" fn pf_identity_refusal() -> u32 {
    *IDENTITY_REFUSAL.get() as u32
}

/// Drops the table's hold on an identity; the configs made with it keep theirs until they are freed.
#[unsafe(no_mangle)]
pub extern "C" fn pf_identity_free(identity: u32) {
    IDENTITIES.get().remove(identity);
}

/// `input`: the trust anchors as DER certificates, each preceded by its
/// length (u32 LE); no certificates means Mozilla's roots. `identity`: the
/// client identity to present to servers that ask for one, or 0 for none.
/// `groups`: the `Groups` to offer; any other number refuses the config.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_config_new(
    ptr: *const u8,
    len: usize,
    identity: u32,
    groups: u32,
) -> u32 {
    let input = unsafe { bytes(ptr, len) };
    let (Some(ders), Some(groups)) = (split_u32_prefixed(input), Groups::from_number(groups))
    else {
        return 0;
    };
    let identity = match identity {
        0 => None,
        handle => match IDENTITIES.get().get_mut(handle) {
            Some(identity) => Some(Arc::clone(identity)),
            None => return 0,
        },
    };
    match new_config(&ders, identity, groups) {
        Some(config) => CONFIGS.get().insert(config),
        None => 0,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn pf_config_free(config: u32) {
    CONFIGS.get().remove(config);
}

/// `input`: the server name's length (u16 LE) and bytes, then the ALPN
/// protocols in their wire form (each preceded by a length byte).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_session_new(config: u32, ptr: *const u8, len: usize) -> u32 {
    let input = unsafe { bytes(ptr, len) };
    let Some(config) = CONFIGS.get().get_mut(config).cloned() else {
        return 0;
    };
    let Some((name, alpn)) = parse_session_input(input) else {
        return 0;
    };
    match Session::new(config, name, alpn) {
        Some(session) => SESSIONS.get().insert(session),
        None => 0,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn pf_session_free(session: u32) {
    SESSIONS.get().remove(session);
}

/// Room for `len` received bytes; call `pf_session_process` after writing them.
#[unsafe(no_mangle)]
pub extern "C" fn pf_session_input(session: u32, len: usize) -> *mut u8 {
    match SESSIONS.get().get_mut(session) {
        Some(session) => session.input_room(len),
        None => core::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn pf_session_process(session: u32, received: usize) -> u32 {
    run(session, received, Action::None)
}

/// Encrypts `len` bytes of application data at `ptr`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_session_write(session: u32, ptr: *const u8, len: usize) -> u32 {
    run(session, 0, Action::Write(unsafe { bytes(ptr, len) }))
}

/// Gives back the room a session's buffers grew to (for a connection going
/// idle). What the last call left for the host is gone, so `pf_result` is cleared.
#[unsafe(no_mangle)]
pub extern "C" fn pf_session_shrink(session: u32) {
    *RESULT.get() = StepResult::EMPTY;
    if let Some(session) = SESSIONS.get().get_mut(session) {
        session.shrink();
    }
}

/// Queues a close_notify alert.
#[unsafe(no_mangle)]
pub extern "C" fn pf_session_close(session: u32) -> u32 {
    run(session, 0, Action::CloseNotify)
}

fn run(handle: u32, received: usize, action: Action<'_>) -> u32 {
    let result = RESULT.get();
    *result = StepResult::EMPTY;
    let Some(session) = SESSIONS.get().get_mut(handle) else {
        return 0;
    };
    session.process(handle, received, action);
    let (code, cause, message) = match &session.failure {
        Some(failure) => (
            failure.code as u32,
            failure.cause as u32,
            failure.message.as_bytes(),
        ),
        None => (0, 0, &[][..]),
    };
    let alpn = session.alpn();
    *result = StepResult {
        flags: session.flags,
        output_ptr: session.outgoing.as_ptr(),
        output_len: session.outgoing.len(),
        plaintext_ptr: session.plaintext.as_ptr(),
        plaintext_len: session.plaintext.len(),
        failure_code: code,
        failure_cause: cause,
        message_ptr: message.as_ptr(),
        message_len: message.len(),
        protocol_version: session.protocol_version(),
        key_exchange: session.key_exchange(),
        alpn_ptr: alpn.as_ptr(),
        alpn_len: alpn.len(),
    };
    session.flags
}

unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        unsafe { slice::from_raw_parts(ptr, len) }
    }
}

unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut [u8] {
    if len == 0 {
        &mut []
    } else {
        unsafe { slice::from_raw_parts_mut(ptr, len) }
    }
}

/// Reads `pf_identity_new`'s input and wipes the key's bytes in it, whatever the outcome.
fn identity_from_input(input: &mut [u8]) -> Result<Arc<CertifiedKey>, IdentityRefusal> {
    let Some((header, rest)) = input.split_first_chunk_mut::<8>() else {
        wipe(input);
        return Err(IdentityRefusal::Unparsable);
    };
    let format = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let key_len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let Some((key, chain)) = rest.split_at_mut_checked(key_len) else {
        // The key's length is wrong: all of it may be key.
        wipe(rest);
        return Err(IdentityRefusal::Unparsable);
    };
    let made = match (KeyFormat::from_number(format), split_u32_prefixed(chain)) {
        (Some(format), Some(chain)) => new_identity(format, key, &chain),
        _ => Err(IdentityRefusal::Unparsable),
    };
    wipe(key);
    made
}

fn split_u32_prefixed(mut input: &[u8]) -> Option<Vec<&[u8]>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        let (len, rest) = input.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        let (item, rest) = rest.split_at(len);
        items.push(item);
        input = rest;
    }
    Some(items)
}

fn parse_session_input(input: &[u8]) -> Option<(&str, Vec<Vec<u8>>)> {
    let (len, rest) = input.split_first_chunk::<2>()?;
    let len = u16::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return None;
    }
    let (name, mut rest) = rest.split_at(len);
    let name = core::str::from_utf8(name).ok()?;
    let mut alpn = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = len as usize;
        if len == 0 || tail.len() < len {
            return None;
        }
        alpn.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    Some((name, alpn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_split_on_their_length_prefixes() {
        let input = [
            &[2, 0, 0, 0, 0xaa, 0xbb][..],
            &[0, 0, 0, 0],
            &[1, 0, 0, 0, 0xcc],
        ]
        .concat();
        assert_eq!(
            split_u32_prefixed(&input),
            Some(vec![&[0xaa, 0xbb][..], &[], &[0xcc]])
        );
        assert_eq!(split_u32_prefixed(&[]), Some(vec![]));
    }

    #[test]
    fn anchors_cut_short_are_refused() {
        for input in [
            &[2, 0, 0][..],                  // a length cut off
            &[3, 0, 0, 0, 0xaa, 0xbb],       // fewer bytes than the length says
            &[0xff, 0xff, 0xff, 0xff, 0],    // a length past the end
            &[1, 0, 0, 0, 0xaa, 1, 0, 0, 0], // the second entry cut off
        ] {
            assert_eq!(split_u32_prefixed(input), None, "{input:?}");
        }
    }

    const P256_KEY: &[u8] = include_bytes!("../tests/fixtures/p256.pk8.der");
    const P256_CRT: &[u8] = include_bytes!("../tests/fixtures/p256.crt.der");

    fn identity_input(format: u32, key_len: u32, key: &[u8], chain: &[&[u8]]) -> Vec<u8> {
        let mut input = [&format.to_le_bytes()[..], &key_len.to_le_bytes(), key].concat();
        for der in chain {
            input.extend_from_slice(&(der.len() as u32).to_le_bytes());
            input.extend_from_slice(der);
        }
        input
    }

    #[test]
    fn an_identity_is_made_and_its_key_wiped_from_the_input() {
        let mut input = identity_input(1, P256_KEY.len() as u32, P256_KEY, &[P256_CRT]);
        assert!(identity_from_input(&mut input).is_ok());
        assert!(input[8..8 + P256_KEY.len()].iter().all(|byte| *byte == 0));
        assert_eq!(&input[8 + P256_KEY.len() + 4..], P256_CRT);
    }

    #[test]
    fn malformed_identity_input_is_unparsable_and_its_key_wiped() {
        let len = P256_KEY.len() as u32;
        for mut input in [
            identity_input(4, len, P256_KEY, &[P256_CRT]), // a key format that does not exist
            identity_input(1, len + 1, P256_KEY, &[]),     // a key longer than the input
            [identity_input(1, len, P256_KEY, &[P256_CRT]), vec![9, 0]].concat(), // a chain cut short
            vec![1, 0, 0, 0, 0, 0], // a header cut short
        ] {
            assert_eq!(
                identity_from_input(&mut input).err(),
                Some(IdentityRefusal::Unparsable)
            );
            let key = input.get(8..).unwrap_or(&[]);
            assert!(!key.windows(P256_KEY.len()).any(|window| window == P256_KEY));
        }
    }

    #[test]
    fn session_input_gives_the_name_and_alpn_protocols() {
        let input = [&[11, 0][..], b"example.com", &[2], b"h2", &[8], b"http/1.1"].concat();
        assert_eq!(
            parse_session_input(&input),
            Some(("example.com", vec![b"h2".to_vec(), b"http/1.1".to_vec()]))
        );
        assert_eq!(
            parse_session_input(&[3, 0, b'a', b'.', b'b']),
            Some(("a.b", vec![]))
        );
    }

    #[test]
    fn malformed_session_input_is_refused() {
        for input in [
            &[][..],                      // no name length
            &[1][..],                     // half a name length
            &[4, 0, b'a', b'b'],          // a name cut short
            &[2, 0, 0xff, 0xfe],          // a name that is not UTF-8
            &[1, 0, b'a', 0],             // an empty ALPN protocol
            &[1, 0, b'a', 3, b'h', b'2'], // an ALPN protocol cut short
        ] {
            assert_eq!(parse_session_input(input), None, "{input:?}");
        }
    }
}
