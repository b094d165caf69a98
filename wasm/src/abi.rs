//! The exported functions. Handles are non-zero; 0 means failure. After each
//! session call, `pf_result` points at a `wire::StepResult` that describes
//! what the host must take.

use alloc::alloc::{Layout, alloc, dealloc};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::slice;

use rustls::ClientConfig;

use crate::config::new_config;
use crate::session::{Action, Session};
use crate::slab::{Global, Slab};
use crate::wire::{ABI_VERSION, StepResult};

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

/// `input`: the trust anchors as DER certificates, each preceded by its
/// length (u32 LE); no certificates means Mozilla's roots.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pf_config_new(ptr: *const u8, len: usize) -> u32 {
    let input = unsafe { bytes(ptr, len) };
    let Some(ders) = split_u32_prefixed(input) else {
        return 0;
    };
    match new_config(&ders) {
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
