//! getrandom 0.2's interface, always served by the function registered with
//! `register_custom_getrandom!` (see Cargo.toml).
#![no_std]

use core::fmt;
use core::num::NonZeroU32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(NonZeroU32);

impl Error {
    /// The real crate's code for an unexpected failure.
    pub const UNEXPECTED: Error = Error(match NonZeroU32::new((1 << 31) + 2) {
        Some(code) => code,
        None => unreachable!(),
    });

    pub fn code(self) -> NonZeroU32 {
        self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "getrandom error {}", self.0)
    }
}

extern "Rust" {
    fn __getrandom_custom(dest: *mut u8, len: usize) -> u32;
}

pub fn getrandom(dest: &mut [u8]) -> Result<(), Error> {
    if dest.is_empty() {
        return Ok(());
    }
    match NonZeroU32::new(unsafe { __getrandom_custom(dest.as_mut_ptr(), dest.len()) }) {
        None => Ok(()),
        Some(code) => Err(Error(code)),
    }
}

#[macro_export]
macro_rules! register_custom_getrandom {
    ($path:path) => {
        const _: () = {
            #[no_mangle]
            unsafe fn __getrandom_custom(dest: *mut u8, len: usize) -> u32 {
                let f: fn(&mut [u8]) -> ::core::result::Result<(), $crate::Error> = $path;
                match f(::core::slice::from_raw_parts_mut(dest, len)) {
                    Ok(()) => 0,
                    Err(error) => error.code().get(),
                }
            }
        };
    };
}
