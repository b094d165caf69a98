//! Signature checks, for certificates and for the handshake, done by the
//! host's native crypto (node:crypto) first: several times faster than ring's
//! portable code in wasm, which dominated a cold handshake. Only the host's
//! "valid" is taken; anything else (invalid, declined, an error in the host)
//! goes to ring, so a host that errs towards refusing cannot break a
//! handshake. webpki still chooses the algorithm by the identifiers below
//! (ring's) before any signature is checked.

use alloc::vec::Vec;

use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use webpki::ring as ring_algs;

use crate::host;
use crate::wire::SignatureAlgorithm;

/// An algorithm as the host knows it; ring's implementation decides unless the host finds the signature valid.
#[derive(Debug)]
struct HostVerified {
    /// The host's name for it (see `src/tls/native/signatures.ts`).
    algorithm: SignatureAlgorithm,
    ring: &'static &'static dyn SignatureVerificationAlgorithm,
}

impl SignatureVerificationAlgorithm for HostVerified {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let spki = spki_der(&self.public_key_alg_id(), public_key);
        if host::verify_signature(self.algorithm, &spki, message, signature) {
            Ok(())
        } else {
            self.ring.verify_signature(public_key, message, signature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.ring.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.ring.signature_alg_id()
    }
}

/// The SubjectPublicKeyInfo DER of a key webpki hands over as its algorithm
/// identifier's contents and the key's bits.
fn spki_der(algorithm: &[u8], public_key: &[u8]) -> Vec<u8> {
    let mut bit_string = Vec::with_capacity(public_key.len() + 1);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(public_key);
    let mut contents = der(0x30, algorithm);
    contents.extend_from_slice(&der(0x03, &bit_string));
    der(0x30, &contents)
}

/// A DER value: `tag`, length, `contents`.
pub fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = Vec::with_capacity(len + 4);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(contents);
    out
}

type Algorithm = &'static dyn SignatureVerificationAlgorithm;

static ECDSA_P256_SHA256: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::EcdsaP256Sha256,
    ring: &ring_algs::ECDSA_P256_SHA256,
};
static ECDSA_P256_SHA384: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::EcdsaP256Sha384,
    ring: &ring_algs::ECDSA_P256_SHA384,
};
static ECDSA_P384_SHA256: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::EcdsaP384Sha256,
    ring: &ring_algs::ECDSA_P384_SHA256,
};
static ECDSA_P384_SHA384: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::EcdsaP384Sha384,
    ring: &ring_algs::ECDSA_P384_SHA384,
};
static ED25519: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::Ed25519,
    ring: &ring_algs::ED25519,
};
static RSA_PSS_SHA256: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPssSha256,
    ring: &ring_algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
};
static RSA_PSS_SHA384: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPssSha384,
    ring: &ring_algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
};
static RSA_PSS_SHA512: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPssSha512,
    ring: &ring_algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
};
static RSA_PKCS1_SHA256: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha256,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA256,
};
static RSA_PKCS1_SHA384: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha384,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA384,
};
static RSA_PKCS1_SHA512: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha512,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA512,
};
static RSA_PKCS1_SHA256_ABSENT_PARAMS: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha256,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
};
static RSA_PKCS1_SHA384_ABSENT_PARAMS: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha384,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
};
static RSA_PKCS1_SHA512_ABSENT_PARAMS: Algorithm = &HostVerified {
    algorithm: SignatureAlgorithm::RsaPkcs1Sha512,
    ring: &ring_algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
};

/// rustls's ring provider's algorithms and TLS mapping, each checked by the host first.
pub static ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        ECDSA_P256_SHA256,
        ECDSA_P256_SHA384,
        ECDSA_P384_SHA256,
        ECDSA_P384_SHA384,
        ED25519,
        RSA_PSS_SHA256,
        RSA_PSS_SHA384,
        RSA_PSS_SHA512,
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512,
        RSA_PKCS1_SHA256_ABSENT_PARAMS,
        RSA_PKCS1_SHA384_ABSENT_PARAMS,
        RSA_PKCS1_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the scheme; for TLS 1.3 it is.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[ECDSA_P384_SHA384, ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[ECDSA_P256_SHA256, ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[ED25519]),
        (SignatureScheme::RSA_PSS_SHA512, &[RSA_PSS_SHA512]),
        (SignatureScheme::RSA_PSS_SHA384, &[RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[RSA_PSS_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[RSA_PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[RSA_PKCS1_SHA256]),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_take_the_shortest_form() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        for (len, header) in [
            (0x7f, &[0x30, 0x7f][..]),
            (0x80, &[0x30, 0x81, 0x80]),
            (0xff, &[0x30, 0x81, 0xff]),
            (0x100, &[0x30, 0x82, 0x01, 0x00]),
            (0x1_0000, &[0x30, 0x83, 0x01, 0x00, 0x00]),
        ] {
            let encoded = der(0x30, &vec![0; len]);
            assert_eq!(&encoded[..header.len()], header, "length {len}");
            assert_eq!(encoded.len(), header.len() + len);
        }
    }

    #[test]
    fn an_spki_wraps_the_algorithm_and_the_key_bits() {
        assert_eq!(
            spki_der(&[0x06, 1, 0x2a], &[0xab]),
            vec![0x30, 9, 0x30, 3, 0x06, 1, 0x2a, 0x03, 2, 0, 0xab]
        );
    }
}
