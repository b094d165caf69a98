//! A TLS server's bytes, recorded by `src/bin/record.rs`, answering the
//! ClientHello of a session made with `session_params()` on a config that
//! trusts `CA_DER`. Every session's randomness starts from the same seed
//! (see host.rs), so the recording replays: the fuzzer starts from a whole
//! handshake (TLS 1.3 over X25519 or X25519MLKEM768, or TLS 1.2), a
//! ticket, a response and close_notify, and
//! mutates them, instead of having to guess its way past the first record.
//! The TLS 1.3 server's traffic secrets come along, so that its encrypted
//! messages can be edited in the clear and sealed again (`Tls13Clear`).

use std::sync::OnceLock;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk};

use pinned_fetch_engine::wire::{Flag, Groups};

use crate::engine;
use crate::host::{self, Random};

pub const SERVER_NAME: &str = "fuzz.pinned-fetch.test";
pub const ALPN: &[u8] = b"http/1.1";
/// What the recorded server answers once the handshake is done.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// The fixture CA (fixtures/make.sh) and the leaf it issued for SERVER_NAME.
pub const CA_DER: &[u8] = include_bytes!("../fixtures/ca.der");
pub const LEAF_DER: &[u8] = include_bytes!("../fixtures/leaf.der");
pub const LEAF_KEY_PKCS8: &[u8] = include_bytes!("../fixtures/leaf.key.der");

pub const TLS13: &[u8] = include_bytes!("../fixtures/tls13.bin");
pub const TLS12: &[u8] = include_bytes!("../fixtures/tls12.bin");
/// A TLS 1.3 server that chose X25519MLKEM768 (the TLS 1.3 one above chose X25519, the engine's second share).
pub const TLS13_HYBRID: &[u8] = include_bytes!("../fixtures/tls13-hybrid.bin");
/// The TLS 1.3 server's handshake and application traffic secrets (TLS13_CHACHA20_POLY1305_SHA256).
const TLS13_KEYS: &[u8] = include_bytes!("../fixtures/tls13.keys");

const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const TAG_LEN: usize = 16;

pub fn session_params() -> Vec<u8> {
    engine::session_input(SERVER_NAME.as_bytes(), &[ALPN.to_vec()])
}

/// The TLS records of `stream`, each with its header; a cut last record as it is.
pub fn records(mut stream: &[u8]) -> Vec<&[u8]> {
    let mut records = Vec::new();
    while !stream.is_empty() {
        let len = match stream.get(3..5) {
            Some(&[high, low]) => 5 + usize::from(u16::from_be_bytes([high, low])),
            _ => stream.len(),
        };
        let (record, rest) = stream.split_at(len.min(stream.len()));
        records.push(record);
        stream = rest;
    }
    records
}

/// Panics unless each recording, fed unchanged to a fresh session, completes
/// the handshake and delivers RESPONSE: otherwise the fuzzer would only ever
/// see the engine refuse the recording (after a change to the ClientHello,
/// say) and the recordings must be made again (fixtures/make.sh).
pub fn check_replay() {
    let clear = Tls13Clear::get();
    assert_eq!(
        clear.handshake_key.seal(0, HANDSHAKE, &clear.handshake),
        records(TLS13)[2],
        "sealing the recorded TLS 1.3 handshake again gives other bytes: fixtures/tls13.keys is not the recording's"
    );
    for (name, recording, version, group) in [
        ("tls13.bin", TLS13, 0x0304, 0x001d),
        ("tls12.bin", TLS12, 0x0303, 0x001d),
        ("tls13-hybrid.bin", TLS13_HYBRID, 0x0304, 0x11ec),
    ] {
        let outcome = replay(recording);
        assert!(
            outcome.flags & Flag::HandshakeDone as u32 != 0
                && outcome.flags & Flag::Failed as u32 == 0,
            "fixtures/{name} no longer completes a handshake with this engine ({}): run wasm/fuzz/fixtures/make.sh",
            outcome.failure,
        );
        assert_eq!(
            outcome.version, version,
            "fixtures/{name}: protocol version"
        );
        assert_eq!(
            outcome.key_exchange, group,
            "fixtures/{name}: key exchange group"
        );
        assert_eq!(outcome.plaintext, RESPONSE, "fixtures/{name}: the response");
    }
}

pub struct Outcome {
    pub flags: u32,
    pub version: u32,
    pub key_exchange: u32,
    pub plaintext: Vec<u8>,
    pub failure: String,
}

/// Feeds `recording` to a new session, one record at a time, as a host would.
pub fn replay(recording: &[u8]) -> Outcome {
    host::reset();
    let config = engine::staged(&engine::config_input(&[CA_DER]), |ptr, len| unsafe {
        engine::pf_config_new(ptr, len, 0, Groups::PostQuantumFirst as u32)
    });
    let mut random = Random::session();
    let params = session_params();
    let session = host::as_session(0, &mut random, || {
        engine::staged(&params, |ptr, len| unsafe {
            engine::pf_session_new(config, ptr, len)
        })
    });
    assert!(
        config != 0 && session != 0,
        "the fixture config or session was refused"
    );
    let mut outcome = Outcome {
        flags: 0,
        version: 0,
        key_exchange: 0,
        plaintext: Vec::new(),
        failure: String::new(),
    };
    let mut take = |flags: u32| {
        let result = engine::result();
        outcome.flags = flags;
        outcome.version = result.protocol_version;
        outcome.key_exchange = result.key_exchange;
        outcome
            .plaintext
            .extend_from_slice(host::read(result.plaintext_ptr, result.plaintext_len));
        outcome.failure =
            String::from_utf8_lossy(host::read(result.message_ptr, result.message_len))
                .into_owned();
    };
    take(host::as_session(session, &mut random, || unsafe {
        engine::pf_session_process(session, 0)
    }));
    for record in records(recording) {
        take(
            host::as_session(session, &mut random, || {
                engine::receive(session, record, 0, false)
            })
            .unwrap(),
        );
    }
    unsafe {
        engine::pf_session_free(session);
        engine::pf_config_free(config);
    }
    outcome
}

/// The recorded TLS 1.3 server's encrypted records in the clear: its one
/// handshake record (EncryptedExtensions, Certificate, CertificateVerify,
/// Finished), then what it sent after the handshake, each with its content
/// type (the ticket, the response, close_notify).
pub struct Tls13Clear {
    pub handshake: Vec<u8>,
    pub after: Vec<(u8, Vec<u8>)>,
    pub handshake_key: RecordKey,
    pub application_key: RecordKey,
}

impl Tls13Clear {
    pub fn get() -> &'static Tls13Clear {
        static CLEAR: OnceLock<Tls13Clear> = OnceLock::new();
        CLEAR.get_or_init(|| {
            let (handshake_secret, application_secret) = TLS13_KEYS.split_at(32);
            let handshake_key = RecordKey::new(handshake_secret);
            let application_key = RecordKey::new(application_secret);
            let records = records(TLS13);
            let (content_type, handshake) = handshake_key.open(0, records[2]);
            assert_eq!(
                content_type, HANDSHAKE,
                "the recording's third record is not its encrypted handshake"
            );
            let after = (0..)
                .zip(&records[3..])
                .map(|(seq, record)| application_key.open(seq, record))
                .collect();
            Tls13Clear {
                handshake,
                after,
                handshake_key,
                application_key,
            }
        })
    }
}

/// One direction's TLS 1.3 record protection with ChaCha20-Poly1305 (RFC 8446, 5.2 and 7.3).
pub struct RecordKey {
    key: LessSafeKey,
    iv: [u8; NONCE_LEN],
}

impl RecordKey {
    fn new(secret: &[u8]) -> Self {
        let key = UnboundKey::new(&CHACHA20_POLY1305, &expand_label(secret, b"key", 32))
            .expect("a ChaCha20 key");
        let iv = expand_label(secret, b"iv", NONCE_LEN)
            .try_into()
            .expect("an IV");
        Self {
            key: LessSafeKey::new(key),
            iv,
        }
    }

    fn nonce(&self, seq: u64) -> Nonce {
        let mut nonce = self.iv;
        for (byte, seq_byte) in nonce[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *byte ^= seq_byte;
        }
        Nonce::assume_unique_for_key(nonce)
    }

    /// The record carrying `content` of `content_type`, sealed as record number `seq`.
    pub fn seal(&self, seq: u64, content_type: u8, content: &[u8]) -> Vec<u8> {
        let mut payload =
            content[..content.len().min(usize::from(u16::MAX) - 1 - TAG_LEN)].to_vec();
        payload.push(content_type);
        let header = record_header(payload.len() + TAG_LEN);
        self.key
            .seal_in_place_append_tag(self.nonce(seq), Aad::from(header), &mut payload)
            .expect("sealing a record");
        [&header[..], &payload].concat()
    }

    fn open(&self, seq: u64, record: &[u8]) -> (u8, Vec<u8>) {
        let (header, sealed) = record.split_at(5);
        let mut payload = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(self.nonce(seq), Aad::from(header), &mut payload)
            .expect("the recording's record does not open with fixtures/tls13.keys");
        let end = plain
            .iter()
            .rposition(|byte| *byte != 0)
            .expect("a record without content type");
        (plain[end], plain[..end].to_vec())
    }
}

fn record_header(len: usize) -> [u8; 5] {
    let [high, low] = (len as u16).to_be_bytes();
    [APPLICATION_DATA, 0x03, 0x03, high, low]
}

/// HKDF-Expand-Label with an empty context (RFC 8446, 7.1).
fn expand_label(secret: &[u8], label: &[u8], len: usize) -> Vec<u8> {
    struct Len(usize);
    impl KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let length = (len as u16).to_be_bytes();
    let label_len = [(b"tls13 ".len() + label.len()) as u8];
    let info: [&[u8]; 5] = [&length, &label_len, b"tls13 ", label, &[0]];
    let mut out = vec![0; len];
    Prk::new_less_safe(HKDF_SHA256, secret)
        .expand(&info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF-Expand-Label");
    out
}
