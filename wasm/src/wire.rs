//! The engine's ABI with its host, written once: every number that crosses
//! the boundary, and the layout of the step result. The engine and the fuzz
//! harness (../fuzz) use these types; src/tls/wire.ts mirrors them for the
//! TypeScript host. Any change here, to a number or to the layout, raises
//! `ABI_VERSION` and the mirror's with it.

/// The version of this ABI, exported as `pf_abi_version`: the host refuses an
/// engine that speaks another.
pub const ABI_VERSION: u32 = 5;

/// Every variant of a wire enum, and the variant of a number the other side sent.
macro_rules! known {
    ($type:ident as $repr:ty: $($variant:ident),+ $(,)?) => {
        impl $type {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// `None` for a number this engine does not know.
            pub fn from_number(number: $repr) -> Option<Self> {
                Self::ALL.iter().copied().find(|known| *known as $repr == number)
            }
        }
    };
}

/// Status flags of a session after every call: bits of `StepResult::flags`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Flag {
    /// The handshake is done: application data may flow.
    HandshakeDone = 1,
    /// The peer sent close_notify.
    PeerClosed = 2,
    /// The session failed: `StepResult` says why, and it takes no more input.
    Failed = 8,
    /// The server asked for a client certificate (it sent CertificateRequest).
    ClientCertRequested = 16,
    /// The client sent a non-empty Certificate (and its CertificateVerify).
    ClientCertSent = 32,
}

known!(Flag as u32: HandshakeDone, PeerClosed, Failed, ClientCertRequested, ClientCertSent);

/// Why a session failed, mapped to `PinnedFetchError` codes by the host.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum FailureCode {
    /// Anything else about TLS: the message says what.
    Tls = 1,
    /// No trusted chain; `Cause` says why.
    Untrusted = 2,
    Expired = 3,
    Hostname = 4,
    PinMismatch = 5,
    /// The server, having asked for a client certificate, ended the handshake
    /// with an alert about it; the message is the alert's name (`certificate_required`).
    ClientCertificate = 6,
}

known!(FailureCode as u32: Tls, Untrusted, Expired, Hostname, PinMismatch, ClientCertificate);

/// The key exchange groups a config offers (`pf_config_new`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Groups {
    /// TLS 1.3 offers X25519MLKEM768, X25519, secp256r1 and secp384r1, with
    /// shares for the first two; TLS 1.2 the three classical groups.
    PostQuantumFirst = 1,
    /// X25519, secp256r1 and secp384r1, with a share for X25519.
    ClassicalOnly = 2,
}

known!(Groups as u32: PostQuantumFirst, ClassicalOnly);

/// The DER form of a client identity's private key (`pf_identity_new`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum KeyFormat {
    Pkcs8 = 1,
    /// An RSA key (RSAPrivateKey).
    Pkcs1 = 2,
    /// An EC key (ECPrivateKey).
    Sec1 = 3,
}

known!(KeyFormat as u32: Pkcs8, Pkcs1, Sec1);

/// Why `pf_identity_new` refused an identity, read with `pf_identity_refusal`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum IdentityRefusal {
    /// A key type or size ring cannot sign with (P-521, Ed448, DSA, RSA outside 2048-4096 bits).
    UnsupportedKey = 1,
    /// The key is not the leaf certificate's.
    KeyMismatch = 2,
    /// The key or a certificate is not DER of its kind, or the input is malformed.
    Unparsable = 3,
}

known!(IdentityRefusal as u32: UnsupportedKey, KeyMismatch, Unparsable);

/// Why a certificate was refused, beyond the failure code: the host words its
/// message after it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Cause {
    /// Nothing more precise than the failure code.
    Unspecified = 0,
    /// No path leads to a trust anchor.
    UnknownIssuer = 1,
    /// A signature on the chain, or the handshake's, does not verify.
    BadSignature = 2,
    /// A name in the chain is outside what a CA above it may issue for.
    NameConstraints = 3,
    /// A certificate used as a CA is not one: CA:FALSE, or no basicConstraints.
    NotCa = 4,
    /// The leaf is a CA certificate.
    CaAsLeaf = 5,
    /// A certificate's extended key usage does not allow server authentication.
    KeyUsage = 6,
    /// A signature algorithm that is refused (SHA-1) or unknown, or that does not fit the key.
    UnsupportedAlgorithm = 7,
    /// A certificate, or an extension in it (such as the alternative names), cannot be parsed.
    Unparsable = 8,
    /// The chain allows more path building than its bounds (see bounds.rs).
    TooComplex = 9,
    /// The path is longer than webpki allows, or than a CA's path length constraint.
    PathTooLong = 10,
    /// A critical extension webpki does not know, or a certificate version before 3.
    UnsupportedExtension = 11,
    /// A key that webpki distrusts.
    Distrusted = 12,
}

known!(Cause as u32: Unspecified, UnknownIssuer, BadSignature, NameConstraints, NotCa, CaAsLeaf, KeyUsage,
    UnsupportedAlgorithm, Unparsable, TooComplex, PathTooLong, UnsupportedExtension, Distrusted);

/// When the engine asks the host's `verify_path` (see verifier.rs).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Stage {
    /// The leaf and intermediates as the server sent them, before path building.
    Presented = 0,
    /// A fully verified candidate path.
    Path = 1,
    /// The verified path accepted in report-only mode although it missed the pins.
    Reported = 2,
}

known!(Stage as u32: Presented, Path, Reported);

/// The host's verdict on the certificates as the server sent them (`Stage::Presented`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Verdict {
    /// Build and verify the path; the pins are decided on it.
    Continue = 0,
    /// The leaf is trusted by itself (pins-only, or given as trusted) and valid now.
    LeafTrusted = 1,
    /// The leaf is trusted by itself but not valid at this time.
    LeafNotValidNow = 2,
    /// The leaf misses the pins: refused, like any number not named here.
    LeafMismatch = 3,
    /// Build the path; if no path matches the pins, accept the first trusted one and report it.
    ContinueReportOnly = 4,
}

known!(Verdict as u32: Continue, LeafTrusted, LeafNotValidNow, LeafMismatch, ContinueReportOnly);

/// The host's verdict on a verified path (`Stage::Path`); `Stage::Reported` is answered `Accepted`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum PathVerdict {
    Accepted = 0,
    /// Misses the pins: webpki tries another path. So is any number but `Accepted`.
    Rejected = 1,
}

known!(PathVerdict as u32: Accepted, Rejected);

/// Kinds of entries in the certificates handed to `verify_path`, each entry
/// `[kind: u8][length: u32 LE][bytes]`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
pub enum EntryKind {
    /// A DER certificate: the leaf first, then the intermediates.
    Certificate = 0,
    /// The trust anchor's subject, as a DER Name (only at `Stage::Path` and `Stage::Reported`).
    AnchorSubject = 1,
    /// The trust anchor's SubjectPublicKeyInfo, as DER (ditto).
    AnchorSpki = 2,
}

known!(EntryKind as u8: Certificate, AnchorSubject, AnchorSpki);

/// The TLS 1.3 record ciphers the host may provide natively (see aead.rs).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Cipher {
    Aes128Gcm = 1,
    Aes256Gcm = 2,
    Chacha20Poly1305 = 3,
}

known!(Cipher as u32: Aes128Gcm, Aes256Gcm, Chacha20Poly1305);

/// The signature algorithms the host may check natively (see signatures.rs);
/// ring's variants that differ only in how they encode their parameters share a number.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum SignatureAlgorithm {
    EcdsaP256Sha256 = 1,
    EcdsaP256Sha384 = 2,
    EcdsaP384Sha256 = 3,
    EcdsaP384Sha384 = 4,
    Ed25519 = 5,
    RsaPssSha256 = 6,
    RsaPssSha384 = 7,
    RsaPssSha512 = 8,
    RsaPkcs1Sha256 = 9,
    RsaPkcs1Sha384 = 10,
    RsaPkcs1Sha512 = 11,
}

known!(SignatureAlgorithm as u32: EcdsaP256Sha256, EcdsaP256Sha384, EcdsaP384Sha256, EcdsaP384Sha384, Ed25519,
    RsaPssSha256, RsaPssSha384, RsaPssSha512, RsaPkcs1Sha256, RsaPkcs1Sha384, RsaPkcs1Sha512);

/// What the host must take after each session call, at `pf_result`. The
/// pointers stay valid until the next call into the module; a null pointer
/// comes with a length of 0. On wasm32 every field is one 32-bit word.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct StepResult {
    /// `Flag` bits.
    pub flags: u32,
    /// TLS bytes to send, in order, before anything later.
    pub output_ptr: *const u8,
    pub output_len: usize,
    /// Decrypted application data.
    pub plaintext_ptr: *const u8,
    pub plaintext_len: usize,
    /// A `FailureCode`, or 0 while the session has not failed.
    pub failure_code: u32,
    /// A `Cause` (for `FailureCode::Untrusted`), or 0.
    pub failure_cause: u32,
    /// The engine's words for the failure (webpki's or rustls's), UTF-8.
    pub message_ptr: *const u8,
    pub message_len: usize,
    /// The negotiated protocol version (0x0303, 0x0304), or 0 before it is known.
    pub protocol_version: u32,
    /// The negotiated key exchange group's IANA code (0x11EC X25519MLKEM768,
    /// 0x001D X25519, 0x0017 secp256r1, 0x0018 secp384r1), or 0 before it is known.
    pub key_exchange: u32,
    /// The negotiated ALPN protocol, if any.
    pub alpn_ptr: *const u8,
    pub alpn_len: usize,
}

impl StepResult {
    /// What a call on a session that does not exist leaves.
    pub const EMPTY: Self = Self {
        flags: 0,
        output_ptr: core::ptr::null(),
        output_len: 0,
        plaintext_ptr: core::ptr::null(),
        plaintext_len: 0,
        failure_code: 0,
        failure_cause: 0,
        message_ptr: core::ptr::null(),
        message_len: 0,
        protocol_version: 0,
        key_exchange: 0,
        alpn_ptr: core::ptr::null(),
        alpn_len: 0,
    };
}

// The host reads the result as 13 words of 32 bits (src/tls/wire.ts).
#[cfg(target_arch = "wasm32")]
const _: () = assert!(core::mem::size_of::<StepResult>() == 13 * 4);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each enum's numbers read back to their variants and are distinct; an unknown one reads as `None`.
    macro_rules! check {
        ($type:ident as $repr:ty, $unknown:expr) => {
            for (index, variant) in $type::ALL.iter().enumerate() {
                assert_eq!($type::from_number(*variant as $repr), Some(*variant));
                assert!(
                    $type::ALL[..index]
                        .iter()
                        .all(|other| *other as $repr != *variant as $repr)
                );
            }
            assert_eq!($type::from_number($unknown), None);
        };
    }

    #[test]
    fn every_number_reads_back_and_unknown_ones_do_not() {
        check!(Flag as u32, 4);
        check!(FailureCode as u32, 0);
        check!(Groups as u32, 3);
        check!(KeyFormat as u32, 0);
        check!(IdentityRefusal as u32, 4);
        check!(Cause as u32, 13);
        check!(Stage as u32, 3);
        check!(Verdict as u32, 5);
        check!(PathVerdict as u32, 2);
        check!(EntryKind as u8, 3);
        check!(Cipher as u32, 0);
        check!(SignatureAlgorithm as u32, 12);
    }
}
