//! Client identities: a certificate chain and the private key that signs for
//! it, loaded by rustls's ring provider and checked to belong together. The
//! key is read in place from the host's input, which the caller wipes.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    SubjectPublicKeyInfoDer,
};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{Error, InconsistentKeys, SignatureAlgorithm, SignatureScheme};

use crate::config::record_client_auth;
use crate::wire::{Flag, IdentityRefusal, KeyFormat};

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// The RSA modulus sizes ring signs with.
const RSA_BITS: core::ops::RangeInclusive<usize> = 2048..=4096;

/// The identity of `key` (DER in `format`) and `chain` (DER certificates, the
/// leaf first), or why it is refused.
pub fn new_identity(
    format: KeyFormat,
    key: &[u8],
    chain: &[&[u8]],
) -> Result<Arc<CertifiedKey>, IdentityRefusal> {
    // ring says only that it cannot load a key; its type and size tell an unsupported key from a malformed one.
    if !signable(format, key).ok_or(IdentityRefusal::Unparsable)? {
        return Err(IdentityRefusal::UnsupportedKey);
    }
    let der = match format {
        KeyFormat::Pkcs8 => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        KeyFormat::Pkcs1 => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(key)),
        KeyFormat::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(key)),
    };
    let signing = any_supported_type(&der).map_err(|_| IdentityRefusal::Unparsable)?;
    let mut certificates = Vec::with_capacity(chain.len());
    for der in chain {
        let certificate = CertificateDer::from(*der);
        webpki::EndEntityCert::try_from(&certificate).map_err(|_| IdentityRefusal::Unparsable)?;
        certificates.push(certificate.into_owned());
    }
    let identity = CertifiedKey::new(certificates, Arc::new(RecordsUse(signing)));
    match identity.keys_match() {
        Ok(()) => Ok(Arc::new(identity)),
        Err(Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(IdentityRefusal::KeyMismatch)
        }
        // No leaf, or one whose key cannot be read.
        Err(_) => Err(IdentityRefusal::Unparsable),
    }
}

/// Whether ring can sign with a key of this type and size; `None` if `key` is not DER in `format`.
fn signable(format: KeyFormat, key: &[u8]) -> Option<bool> {
    let (0x30, body, []) = element(key)? else {
        return None;
    };
    match format {
        KeyFormat::Pkcs1 => rsa_signable(body),
        KeyFormat::Sec1 => {
            let (0x02, _version, rest) = element(body)? else {
                return None;
            };
            let (0x04, scalar, rest) = element(rest)? else {
                return None;
            };
            match element(rest) {
                Some((0xa0, parameters, _)) => match element(parameters)? {
                    (0x06, curve, _) => Some(curve == P256 || curve == P384),
                    _ => None,
                },
                // No named curve: the scalar's size says which.
                _ => Some(matches!(scalar.len(), 32 | 48)),
            }
        }
        KeyFormat::Pkcs8 => {
            let (0x02, _version, rest) = element(body)? else {
                return None;
            };
            let (0x30, algorithm, rest) = element(rest)? else {
                return None;
            };
            let (0x04, private_key, _) = element(rest)? else {
                return None;
            };
            let (0x06, oid, parameters) = element(algorithm)? else {
                return None;
            };
            match oid {
                RSA_ENCRYPTION => match element(private_key)? {
                    (0x30, rsa, []) => rsa_signable(rsa),
                    _ => None,
                },
                EC_PUBLIC_KEY => match element(parameters)? {
                    (0x06, curve, _) => Some(curve == P256 || curve == P384),
                    _ => None,
                },
                ED25519 => Some(true),
                // Ed448, DSA, RSA-PSS keys, X25519 and the rest.
                _ => Some(false),
            }
        }
    }
}

/// Whether the RSAPrivateKey whose SEQUENCE contents are `body` has a modulus ring signs with.
fn rsa_signable(body: &[u8]) -> Option<bool> {
    let (0x02, _version, rest) = element(body)? else {
        return None;
    };
    let (0x02, modulus, _) = element(rest)? else {
        return None;
    };
    let skipped = modulus.iter().take_while(|byte| **byte == 0).count();
    let bits = match modulus.get(skipped) {
        Some(top) => (modulus.len() - skipped) * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    Some(RSA_BITS.contains(&bits))
}

/// The first DER element of `input`: its tag, its contents and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let (len, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let len = len.iter().try_fold(0usize, |sum, byte| {
                sum.checked_mul(256)?.checked_add(usize::from(*byte))
            })?;
            (len, rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// A signing key that records, for the session being processed, that it
/// signed. rustls signs the client's CertificateVerify right after queueing
/// its Certificate, in the same flight: that is when the certificate is sent.
#[derive(Debug)]
struct RecordsUse(Arc<dyn SigningKey>);

impl SigningKey for RecordsUse {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let signer = self.0.choose_scheme(offered)?;
        Some(Box::new(RecordingSigner(signer)))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }
}

#[derive(Debug)]
struct RecordingSigner(Box<dyn Signer>);

impl Signer for RecordingSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        record_client_auth(Flag::ClientCertSent);
        self.0.sign(message)
    }

    fn scheme(&self) -> SignatureScheme {
        self.0.scheme()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/", $name)).as_slice()
        };
    }

    const RSA2048_CRT: &[u8] = fixture!("rsa2048.crt.der");
    const P256_CRT: &[u8] = fixture!("p256.crt.der");
    const P384_CRT: &[u8] = fixture!("p384.crt.der");
    const ED25519_CRT: &[u8] = fixture!("ed25519.crt.der");
    const RSA2048_PK8: &[u8] = fixture!("rsa2048.pk8.der");
    const P256_PK8: &[u8] = fixture!("p256.pk8.der");

    #[test]
    fn supported_keys_make_identities_in_every_format_that_applies() {
        for (format, key, leaf) in [
            (KeyFormat::Pkcs8, RSA2048_PK8, RSA2048_CRT),
            (KeyFormat::Pkcs1, fixture!("rsa2048.pkcs1.der"), RSA2048_CRT),
            (KeyFormat::Pkcs8, P256_PK8, P256_CRT),
            (KeyFormat::Sec1, fixture!("p256.sec1.der"), P256_CRT),
            (KeyFormat::Pkcs8, fixture!("p384.pk8.der"), P384_CRT),
            (KeyFormat::Sec1, fixture!("p384.sec1.der"), P384_CRT),
            (KeyFormat::Pkcs8, fixture!("ed25519.pk8.der"), ED25519_CRT),
        ] {
            let identity = new_identity(format, key, &[leaf, P384_CRT]);
            let identity = identity.unwrap_or_else(|refusal| panic!("{format:?} {refusal:?}"));
            assert_eq!(identity.cert.len(), 2);
            assert_eq!(identity.cert[0].as_ref(), leaf);
        }
    }

    #[test]
    fn a_key_that_is_not_the_leafs_is_a_mismatch() {
        for (key, leaf) in [
            (P256_PK8, RSA2048_CRT),
            (RSA2048_PK8, P256_CRT),
            (P256_PK8, P384_CRT),
        ] {
            assert_eq!(
                new_identity(KeyFormat::Pkcs8, key, &[leaf]).err(),
                Some(IdentityRefusal::KeyMismatch)
            );
        }
    }

    #[test]
    fn keys_ring_cannot_sign_with_are_unsupported() {
        for (key, leaf) in [
            (fixture!("p521.pk8.der"), fixture!("p521.crt.der")),
            (fixture!("rsa1024.pk8.der"), fixture!("rsa1024.crt.der")),
        ] {
            assert_eq!(
                new_identity(KeyFormat::Pkcs8, key, &[leaf]).err(),
                Some(IdentityRefusal::UnsupportedKey)
            );
        }
    }

    #[test]
    fn malformed_keys_and_certificates_are_unparsable() {
        let truncated = &P256_PK8[..P256_PK8.len() - 1];
        let mut corrupted = P256_PK8.to_vec();
        // The last byte of the public key, which ring checks against the private key.
        *corrupted.last_mut().unwrap() ^= 1;
        for (format, key, chain) in [
            (KeyFormat::Pkcs8, &b"not DER"[..], &[P256_CRT][..]),
            (KeyFormat::Pkcs8, truncated, &[P256_CRT]),
            (KeyFormat::Pkcs8, &corrupted, &[P256_CRT]),
            // The right DER of another format.
            (KeyFormat::Pkcs1, P256_PK8, &[P256_CRT]),
            (KeyFormat::Sec1, RSA2048_PK8, &[RSA2048_CRT]),
            // No leaf, a leaf that is not a certificate, an intermediate that is not one.
            (KeyFormat::Pkcs8, P256_PK8, &[]),
            (KeyFormat::Pkcs8, P256_PK8, &[b"not DER"]),
            (KeyFormat::Pkcs8, P256_PK8, &[P256_CRT, &P384_CRT[1..]]),
        ] {
            assert_eq!(
                new_identity(format, key, chain).err(),
                Some(IdentityRefusal::Unparsable),
                "{format:?} {key:?}"
            );
        }
    }

    #[test]
    fn der_lengths_are_read_in_both_forms_and_bounded() {
        assert_eq!(element(&[0x04, 1, 7, 9]), Some((0x04, &[7][..], &[9][..])));
        let long = [&[0x04, 0x81, 0x80][..], &[0; 0x80]].concat();
        assert_eq!(
            element(&long).map(|(_, contents, _)| contents.len()),
            Some(0x80)
        );
        for input in [
            &[][..],
            &[0x04],
            &[0x04, 2, 0],
            &[0x04, 0x80],
            &[0x04, 0x85, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(element(input), None, "{input:?}");
        }
    }
}
