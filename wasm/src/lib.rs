//! The pinned-fetch TLS engine: rustls as a WebAssembly module with a plain C ABI.
//!
//! The host (TypeScript) owns the sockets. It writes received TLS bytes into a
//! session's input buffer, calls `pf_session_process`, and sends what comes out;
//! certificate pins are decided by the host through the `verify_path` import,
//! which sees only the path webpki verified.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod abi;
mod aead;
#[cfg(target_arch = "wasm32")]
mod allocator;
mod bounds;
mod config;
mod host;
mod identity;
mod kx;
mod session;
mod signatures;
mod slab;
mod verifier;
pub mod wire;

/// Zeroes `bytes` (a secret) with writes the compiler may neither drop as dead nor move after later code.
fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

// Natively (the fuzz harness in fuzz/) the host program's allocator and panic handler serve.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: allocator::CountingAllocator = allocator::CountingAllocator;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
