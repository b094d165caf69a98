//! TLS 1.3 record protection by the host's native AEAD (node:crypto), where
//! the host has the cipher: ring's portable AES-GCM in wasm decrypts at
//! about a tenth of the speed of the runtime's own TLS. But a host call makes
//! a new node:crypto cipher, which costs Node and Deno more than ring's
//! ChaCha20-Poly1305 takes for a record of a few KiB: records up to the size
//! the host names (requests, small responses, HTTP/2's control frames) stay
//! with ring, under the same key. The suites keep ring's hash and HKDF; only
//! the record cipher moves. A host without the cipher keeps ring's suite,
//! decided once per process.

use alloc::boxed::Box;
use alloc::vec::Vec;

use ring::aead;

use rustls::crypto::CipherSuiteCommon;
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter, MessageEncrypter,
    Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload, Tls13AeadAlgorithm,
    UnsupportedOperationError, make_tls13_aad,
};
use rustls::{
    ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion, SupportedCipherSuite,
    Tls13CipherSuite,
};

use crate::host;
use crate::slab::Global;
use crate::wipe;
use crate::wire::Cipher;

const TAG_LEN: usize = 16;

/// A cipher as the host knows it (see `src/tls/native/aead.ts`), and as ring knows it.
#[derive(Clone, Copy)]
struct HostAead {
    cipher: Cipher,
    key_len: usize,
    ring: &'static aead::Algorithm,
    /// Records whose sealed payload is at most this long are sealed and opened by ring (the host says how long).
    in_engine_up_to: usize,
}

const AES_128_GCM: HostAead = HostAead {
    cipher: Cipher::Aes128Gcm,
    key_len: 16,
    ring: &aead::AES_128_GCM,
    in_engine_up_to: 0,
};
const AES_256_GCM: HostAead = HostAead {
    cipher: Cipher::Aes256Gcm,
    key_len: 32,
    ring: &aead::AES_256_GCM,
    in_engine_up_to: 0,
};
const CHACHA20_POLY1305: HostAead = HostAead {
    cipher: Cipher::Chacha20Poly1305,
    key_len: 32,
    ring: &aead::CHACHA20_POLY1305,
    in_engine_up_to: 0,
};

/// One direction's key: the host's handle, freed with the last use of it, and its bytes for ring, wiped then.
struct RecordKey {
    aead: HostAead,
    host: u32,
    bytes: [u8; 32],
}

impl Drop for RecordKey {
    fn drop(&mut self) {
        host::aead_free(self.host);
        wipe(&mut self.bytes);
    }
}

impl RecordKey {
    fn new(aead: HostAead, key: &AeadKey) -> Self {
        let mut bytes = [0; 32];
        let key = key.as_ref();
        // Kept only where ring may use them.
        if aead.in_engine_up_to > 0 {
            bytes[..key.len()].copy_from_slice(key);
        }
        RecordKey {
            aead,
            host: host::aead_key(aead.cipher, key),
            bytes,
        }
    }

    /// ring's key, made for one record: keeping it would cost every connection about 1 KiB of engine memory.
    fn in_engine(&self) -> Option<aead::LessSafeKey> {
        let key = aead::UnboundKey::new(self.aead.ring, &self.bytes[..self.aead.key_len]).ok()?;
        Some(aead::LessSafeKey::new(key))
    }

    /// Seals `record`'s bytes in place and puts the tag in its last TAG_LEN bytes.
    fn seal(&self, nonce: [u8; 12], aad: &[u8], record: &mut [u8]) -> bool {
        if record.len() > self.aead.in_engine_up_to {
            return host::aead_seal(self.host, &nonce, aad, record);
        }
        let (Some(key), Some(tag_at)) = (self.in_engine(), record.len().checked_sub(TAG_LEN))
        else {
            return false;
        };
        let (data, tag) = record.split_at_mut(tag_at);
        let nonce = aead::Nonce::assume_unique_for_key(nonce);
        match key.seal_in_place_separate_tag(nonce, aead::Aad::from(aad), data) {
            Ok(sealed) => {
                tag.copy_from_slice(sealed.as_ref());
                true
            }
            Err(_) => false,
        }
    }

    /// Opens `record` (ciphertext, then tag) in place; false if it is not authentic.
    fn open(&self, nonce: [u8; 12], aad: &[u8], record: &mut [u8]) -> bool {
        if record.len() > self.aead.in_engine_up_to {
            return host::aead_open(self.host, &nonce, aad, record);
        }
        let Some(key) = self.in_engine() else {
            return false;
        };
        let nonce = aead::Nonce::assume_unique_for_key(nonce);
        key.open_in_place(nonce, aead::Aad::from(aad), record)
            .is_ok()
    }
}

impl Tls13AeadAlgorithm for HostAead {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Encrypter {
            key: RecordKey::new(*self, &key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Decrypter {
            key: RecordKey::new(*self, &key),
            iv,
        })
    }

    fn key_len(&self) -> usize {
        self.key_len
    }

    fn extract_keys(
        &self,
        _: AeadKey,
        _: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Err(UnsupportedOperationError)
    }
}

struct Encrypter {
    key: RecordKey,
    iv: Iv,
}

impl MessageEncrypter for Encrypter {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());
        payload.extend_from_slice(&[0; TAG_LEN]);
        let nonce = Nonce::new(&self.iv, seq).0;
        if !self
            .key
            .seal(nonce, &make_tls13_aad(total_len), payload.as_mut())
        {
            return Err(Error::EncryptError);
        }
        // All TLS 1.3 application data records carry TLSv1_2 as their legacy version (RFC 8446, 5.1).
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

struct Decrypter {
    key: RecordKey,
    iv: Iv,
}

impl MessageDecrypter for Decrypter {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        if payload.len() < TAG_LEN {
            return Err(Error::DecryptError);
        }
        let nonce = Nonce::new(&self.iv, seq).0;
        if !self
            .key
            .open(nonce, &make_tls13_aad(payload.len()), payload)
        {
            return Err(Error::DecryptError);
        }
        let plain_len = payload.len() - TAG_LEN;
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

/// The TLS 1.3 suites with their record cipher moved to the host, made once.
static HOST_SUITES: Global<Option<Vec<SupportedCipherSuite>>> = Global::new(None);

/// `suites`, each TLS 1.3 suite whose cipher the host has replaced by one
/// that uses it, in order of speed here: the host's ChaCha20-Poly1305 (as
/// fast as its AES-GCM where that has AES instructions, and far faster in
/// Deno, whose AES-GCM has none), the host's other ciphers, then ring's
/// ChaCha20-Poly1305 (faster than ring's AES-GCM, which has no AES
/// instructions in wasm), then the rest, each group in rustls's order (the
/// figures are in BENCHMARKS.md). Servers that follow the client's preference pick accordingly.
pub fn fastest_first(suites: &[SupportedCipherSuite]) -> Vec<SupportedCipherSuite> {
    let host_suites = HOST_SUITES.get().get_or_insert_with(|| {
        suites
            .iter()
            .filter_map(|suite| match suite {
                SupportedCipherSuite::Tls13(ring_suite) => host_suite(ring_suite),
                SupportedCipherSuite::Tls12(_) => None,
            })
            .collect()
    });
    let mut ordered: Vec<(u8, SupportedCipherSuite)> = suites
        .iter()
        .map(|suite| {
            match host_suites
                .iter()
                .find(|host| host.suite() == suite.suite())
            {
                Some(host) if is_chacha(suite) => (0, *host),
                Some(host) => (1, *host),
                None if is_chacha(suite) => (2, *suite),
                None => (3, *suite),
            }
        })
        .collect();
    ordered.sort_by_key(|(rank, _)| *rank);
    ordered.into_iter().map(|(_, suite)| suite).collect()
}

fn is_chacha(suite: &SupportedCipherSuite) -> bool {
    use rustls::CipherSuite::*;
    matches!(
        suite.suite(),
        TLS13_CHACHA20_POLY1305_SHA256
            | TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            | TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    )
}

fn host_suite(ring_suite: &'static Tls13CipherSuite) -> Option<SupportedCipherSuite> {
    let aead = match ring_suite.common.suite {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => AES_128_GCM,
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => AES_256_GCM,
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => CHACHA20_POLY1305,
        _ => return None,
    };
    if !host::aead_supported(aead.cipher) {
        return None;
    }
    let aead: &'static HostAead = Box::leak(Box::new(HostAead {
        in_engine_up_to: host::aead_in_engine_up_to(aead.cipher),
        ..aead
    }));
    let suite = Box::leak(Box::new(Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: ring_suite.common.suite,
            hash_provider: ring_suite.common.hash_provider,
            confidentiality_limit: ring_suite.common.confidentiality_limit,
        },
        hkdf_provider: ring_suite.hkdf_provider,
        aead_alg: aead,
        quic: None,
    }));
    Some(SupportedCipherSuite::Tls13(suite))
}
