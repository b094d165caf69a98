//! A TLS server's bytes, recorded by `src/bin/record.rs`, answering the
//! ClientHello of a session made with `session_params()` on a config that
//! trusts `CA_DER`. Every session's randomness starts from the same seed
//! (see host.rs), so the recording replays: the fuzzer starts from a whole
//! handshake (TLS 1.3 or 1.2), a ticket, a response and close_notify, and
//! mutates them, instead of having to guess its way past the first record.

use crate::engine::{self, FAILED, HANDSHAKE_DONE};
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
    for (name, recording, version) in [("tls13.bin", TLS13, 0x0304), ("tls12.bin", TLS12, 0x0303)] {
        let outcome = replay(recording);
        assert!(
            outcome.flags & HANDSHAKE_DONE != 0 && outcome.flags & FAILED == 0,
            "fixtures/{name} no longer completes a handshake with this engine ({}): run wasm/fuzz/fixtures/make.sh",
            outcome.failure,
        );
        assert_eq!(outcome.version, version, "fixtures/{name}: protocol version");
        assert_eq!(outcome.plaintext, RESPONSE, "fixtures/{name}: the response");
    }
}

pub struct Outcome {
    pub flags: u32,
    pub version: usize,
    pub plaintext: Vec<u8>,
    pub failure: String,
}

/// Feeds `recording` to a new session, one record at a time, as a host would.
pub fn replay(recording: &[u8]) -> Outcome {
    host::reset();
    let config = engine::staged(&engine::config_input(&[CA_DER]), |ptr, len| unsafe { engine::pf_config_new(ptr, len) });
    let mut random = Random::session();
    let params = session_params();
    let session = host::as_session(0, &mut random, || {
        engine::staged(&params, |ptr, len| unsafe { engine::pf_session_new(config, ptr, len) })
    });
    assert!(config != 0 && session != 0, "the fixture config or session was refused");
    let mut outcome = Outcome { flags: 0, version: 0, plaintext: Vec::new(), failure: String::new() };
    let mut take = |flags: u32| {
        let words = engine::result();
        outcome.flags = flags;
        outcome.version = words[8];
        outcome.plaintext.extend_from_slice(host::read(words[3] as *const u8, words[4]));
        outcome.failure = String::from_utf8_lossy(host::read(words[6] as *const u8, words[7])).into_owned();
    };
    take(host::as_session(session, &mut random, || unsafe { engine::pf_session_process(session, 0) }));
    for record in records(recording) {
        take(host::as_session(session, &mut random, || engine::receive(session, record, 0, false)).unwrap());
    }
    unsafe {
        engine::pf_session_free(session);
        engine::pf_config_free(config);
    }
    outcome
}
