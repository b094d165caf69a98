//! The engine's exported C ABI (../../src/abi.rs), as the host calls it.

use std::ptr;

// Links the engine, whose exports are reached through the declarations below.
use pinned_fetch_engine::wire::{KeyFormat, StepResult};

unsafe extern "C" {
    pub fn pf_abi_version() -> u32;
    pub fn pf_alloc(len: usize) -> *mut u8;
    pub fn pf_free(ptr: *mut u8, len: usize);
    pub fn pf_result() -> *const StepResult;
    pub fn pf_config_new(ptr: *const u8, len: usize, identity: u32, groups: u32) -> u32;
    pub fn pf_identity_new(ptr: *mut u8, len: usize) -> u32;
    pub fn pf_identity_refusal() -> u32;
    pub fn pf_identity_free(identity: u32);
    pub fn pf_config_free(config: u32);
    pub fn pf_session_new(config: u32, ptr: *const u8, len: usize) -> u32;
    pub fn pf_session_free(session: u32);
    pub fn pf_session_input(session: u32, len: usize) -> *mut u8;
    pub fn pf_session_process(session: u32, received: usize) -> u32;
    pub fn pf_session_write(session: u32, ptr: *const u8, len: usize) -> u32;
    pub fn pf_session_close(session: u32) -> u32;
    pub fn pf_session_shrink(session: u32);
}

/// What `pf_result` describes after a session call.
pub fn result() -> StepResult {
    unsafe { *pf_result() }
}

/// Calls `call` with `bytes` copied into memory from `pf_alloc`, as the
/// TypeScript host stages them, then frees it. No bytes are passed as a null
/// pointer, which the ABI never reads for a length of 0.
pub fn staged<R>(bytes: &[u8], call: impl FnOnce(*const u8, usize) -> R) -> R {
    if bytes.is_empty() {
        return call(ptr::null(), 0);
    }
    unsafe {
        let buffer = pf_alloc(bytes.len());
        assert!(!buffer.is_null(), "pf_alloc({}) failed", bytes.len());
        buffer.copy_from_nonoverlapping(bytes.as_ptr(), bytes.len());
        let result = call(buffer, bytes.len());
        pf_free(buffer, bytes.len());
        result
    }
}

/// Writes `received` into the input room of `session` (`spare` bytes larger
/// than needed) and processes it, claiming the spare room too if
/// `claim_spare`. `None` if the engine has no room: an unknown session.
pub fn receive(session: u32, received: &[u8], spare: usize, claim_spare: bool) -> Option<u32> {
    unsafe {
        let room = pf_session_input(session, received.len() + spare);
        if room.is_null() {
            return None;
        }
        room.copy_from_nonoverlapping(received.as_ptr(), received.len());
        let claimed = received.len() + if claim_spare { spare } else { 0 };
        Some(pf_session_process(session, claimed))
    }
}

/// The anchors input of `pf_config_new`: each DER certificate after its length (u32 LE).
pub fn config_input(certificates: &[&[u8]]) -> Vec<u8> {
    let mut input = Vec::new();
    for der in certificates {
        input.extend_from_slice(&(der.len() as u32).to_le_bytes());
        input.extend_from_slice(der);
    }
    input
}

/// The input of `pf_identity_new`: the key's format and length (u32 LE each) and DER, then each certificate after its length (u32 LE).
pub fn identity_input(format: KeyFormat, key: &[u8], chain: &[&[u8]]) -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(&(format as u32).to_le_bytes());
    input.extend_from_slice(&(key.len() as u32).to_le_bytes());
    input.extend_from_slice(key);
    input.extend(config_input(chain));
    input
}

/// The input of `pf_session_new`: the name's length (u16 LE) and bytes, then each ALPN protocol after its length byte.
pub fn session_input(name: &[u8], alpn: &[Vec<u8>]) -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(&(name.len() as u16).to_le_bytes());
    input.extend_from_slice(name);
    for protocol in alpn {
        input.push(protocol.len() as u8);
        input.extend_from_slice(protocol);
    }
    input
}
