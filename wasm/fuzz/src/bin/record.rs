//! Records the server bytes of recorded.rs: a rustls server with the fixture
//! leaf answers an engine session made as the fuzz script makes it, over
//! TLS 1.3 choosing X25519 (the engine's second key share), over TLS 1.2,
//! and over TLS 1.3 choosing X25519MLKEM768, each time sending one ticket
//! (or a session ID), RESPONSE and close_notify; for the first also the
//! server's traffic secrets (tls13.keys), with which the harness seals
//! edited messages again. Run by fixtures/make.sh.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::{env, fs};

use ml_kem::ml_kem_768::EncapsulationKey;
use pinned_fetch_engine::wire::Flag;
use pinned_fetch_engine::wire::Groups;
use pinned_fetch_fuzz::engine;
use pinned_fetch_fuzz::host::{self, FIXED_NOW_MS, Random};
use pinned_fetch_fuzz::recorded::{self, ALPN, CA_DER, LEAF_DER, LEAF_KEY_PKCS8, RESPONSE};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::crypto::ring::kx_group::X25519;
use rustls::crypto::{ActiveKeyExchange, CompletedKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::{ServerConfig, StoresServerSessions, UnbufferedServerConnection};
use rustls::time_provider::TimeProvider;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};
use rustls::version::{TLS12, TLS13};
use rustls::{
    Error, KeyLog, NamedGroup, PeerMisbehaved, ProtocolVersion, SupportedProtocolVersion, crypto,
};

fn main() {
    let fixtures = PathBuf::from(env::args().nth(1).expect("usage: record FIXTURES_DIR"));
    for (version, hybrid, file) in [
        (&TLS13, false, "tls13.bin"),
        (&TLS12, false, "tls12.bin"),
        (&TLS13, true, "tls13-hybrid.bin"),
    ] {
        let secrets = Arc::new(Secrets::default());
        let stream = record(version, hybrid, secrets.clone());
        let replayed = recorded::replay(&stream);
        assert_eq!(
            replayed.plaintext, RESPONSE,
            "{file} does not replay: {}",
            replayed.failure
        );
        fs::write(fixtures.join(file), &stream).expect("writing the recording");
        println!(
            "{file}: {} bytes in {} records",
            stream.len(),
            recorded::records(&stream).len()
        );
        if file == "tls13.bin" {
            // ServerHello: version (2), random (32), session ID (length-prefixed), then the suite.
            let server_hello = &recorded::records(&stream)[0][5 + 4..];
            let suite = &server_hello[35 + usize::from(server_hello[34])..][..2];
            assert_eq!(
                suite,
                [0x13, 0x03],
                "recorded.rs seals with TLS13_CHACHA20_POLY1305_SHA256, the server chose another"
            );
            let keys = [
                secrets.get("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
                secrets.get("SERVER_TRAFFIC_SECRET_0"),
            ]
            .concat();
            fs::write(fixtures.join("tls13.keys"), keys).expect("writing the keys");
        }
    }
}

/// The server's secrets, as rustls logs them.
#[derive(Debug, Default)]
struct Secrets(Mutex<Vec<(String, Vec<u8>)>>);

impl Secrets {
    fn get(&self, label: &str) -> Vec<u8> {
        let logged = self.0.lock().unwrap();
        let (_, secret) = logged
            .iter()
            .find(|(logged, _)| logged == label)
            .expect(label);
        assert_eq!(secret.len(), 32, "{label}: a SHA-256 suite's secret");
        secret.clone()
    }
}

impl KeyLog for Secrets {
    fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_string(), secret.to_vec()));
    }
}

/// The server's bytes, from a whole exchange with an engine session.
fn record(
    version: &'static SupportedProtocolVersion,
    hybrid: bool,
    secrets: Arc<Secrets>,
) -> Vec<u8> {
    host::reset();
    let config = engine::staged(&engine::config_input(&[CA_DER]), |ptr, len| unsafe {
        engine::pf_config_new(ptr, len, 0, Groups::PostQuantumFirst as u32)
    });
    let mut client_random = Random::session();
    let params = recorded::session_params();
    let session = host::as_session(0, &mut client_random, || {
        engine::staged(&params, |ptr, len| unsafe {
            engine::pf_session_new(config, ptr, len)
        })
    });
    let mut server =
        UnbufferedServerConnection::new(Arc::new(server_config(version, hybrid, secrets)))
            .expect("server");
    let mut server_random = Random::server();
    let mut server_input = Vec::new();
    let mut responded = false;
    let mut recorded = Vec::new();
    let mut to_server = client_output(host::as_session(session, &mut client_random, || unsafe {
        engine::pf_session_process(session, 0)
    }));
    loop {
        server_input.extend_from_slice(&to_server);
        let to_client = host::as_session(0, &mut server_random, || {
            serve(&mut server, &mut server_input, &mut responded)
        });
        if to_client.is_empty() {
            break;
        }
        recorded.extend_from_slice(&to_client);
        to_server = client_output(host::as_session(session, &mut client_random, || {
            engine::receive(session, &to_client, 0, false).expect("the session")
        }));
    }
    unsafe {
        engine::pf_session_free(session);
        engine::pf_config_free(config);
    }
    assert!(responded, "the handshake did not complete");
    recorded
}

fn client_output(flags: u32) -> Vec<u8> {
    let result = engine::result();
    assert_eq!(flags & Flag::Failed as u32, 0, "the client failed");
    host::read(result.output_ptr, result.output_len).to_vec()
}

/// ring's groups, preceded by X25519MLKEM768 if `hybrid`.
fn server_config(
    version: &'static SupportedProtocolVersion,
    hybrid: bool,
    secrets: Arc<Secrets>,
) -> ServerConfig {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(LEAF_KEY_PKCS8.to_vec()));
    let chain = vec![CertificateDer::from(LEAF_DER.to_vec())];
    let mut provider = crypto::ring::default_provider();
    if hybrid {
        provider.kx_groups.insert(0, &ServerHybrid);
    }
    let mut config = ServerConfig::builder_with_details(Arc::new(provider), Arc::new(FixedTime))
        .with_protocol_versions(&[version])
        .expect("protocol version")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the fixture leaf and key");
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.session_storage = Arc::new(SessionStore::default());
    config.send_tls13_tickets = 1;
    config.key_log = secrets;
    config
}

/// Runs the server on what it received; returns what it sends.
fn serve(
    server: &mut UnbufferedServerConnection,
    input: &mut Vec<u8>,
    responded: &mut bool,
) -> Vec<u8> {
    let mut output = Vec::new();
    loop {
        let status = server.process_tls_records(input);
        let mut discard = status.discard;
        let done = match status.state.expect("the server failed") {
            ConnectionState::EncodeTlsData(mut data) => {
                encode(&mut output, |out| {
                    data.encode(out).map_err(|error| match error {
                        EncodeError::InsufficientSize(size) => size,
                        error => panic!("{error:?}"),
                    })
                });
                false
            }
            ConnectionState::TransmitTlsData(data) => {
                data.done();
                false
            }
            ConnectionState::ReadTraffic(mut traffic) => {
                while let Some(record) = traffic.next_record() {
                    discard += record.expect("a client record").discard;
                }
                false
            }
            ConnectionState::WriteTraffic(mut traffic) if !*responded => {
                *responded = true;
                encode(&mut output, |out| {
                    traffic.encrypt(RESPONSE, out).map_err(|error| match error {
                        EncryptError::InsufficientSize(size) => size,
                        error => panic!("{error:?}"),
                    })
                });
                encode(&mut output, |out| {
                    traffic
                        .queue_close_notify(out)
                        .map_err(|error| match error {
                            EncryptError::InsufficientSize(size) => size,
                            error => panic!("{error:?}"),
                        })
                });
                false
            }
            _ => true,
        };
        input.drain(..discard);
        if done {
            return output;
        }
    }
}

fn encode(
    output: &mut Vec<u8>,
    mut step: impl FnMut(&mut [u8]) -> Result<usize, InsufficientSizeError>,
) {
    let start = output.len();
    let mut room = 4096;
    loop {
        output.resize(start + room, 0);
        match step(&mut output[start..]) {
            Ok(written) => return output.truncate(start + written),
            Err(size) => room = size.required_size,
        }
    }
}

/// X25519MLKEM768 as a server answers it: the engine's kx.rs is the client's side.
#[derive(Debug)]
struct ServerHybrid;

impl SupportedKxGroup for ServerHybrid {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Err(Error::General("a server only answers a key share".into()))
    }

    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        let invalid = || Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare);
        let (encapsulation_key, x25519_share) =
            client_share.split_at_checked(1184).ok_or_else(invalid)?;
        let encapsulation_key = encapsulation_key.try_into().map_err(|_| invalid())?;
        let encapsulation_key = EncapsulationKey::new(&encapsulation_key).map_err(|_| invalid())?;
        // The host's random source, which the recorder makes deterministic.
        let mut message = [0u8; 32];
        SystemRandom::new()
            .fill(&mut message)
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        let (ciphertext, mlkem_secret) =
            encapsulation_key.encapsulate_deterministic(&message.into());
        let x25519 = X25519.start_and_complete(x25519_share)?;
        Ok(CompletedKeyExchange {
            group: NamedGroup::X25519MLKEM768,
            pub_key: [&ciphertext[..], &x25519.pub_key].concat(),
            secret: SharedSecret::from([&mlkem_secret[..], x25519.secret.secret_bytes()].concat()),
        })
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

#[derive(Debug)]
struct FixedTime;

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_millis(
            FIXED_NOW_MS as u64,
        )))
    }
}

/// Stateful tickets and TLS 1.2 session IDs, so that the recording carries one.
#[derive(Debug, Default)]
struct SessionStore(Mutex<Vec<(Vec<u8>, Vec<u8>)>>);

impl StoresServerSessions for SessionStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.lock().unwrap().push((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(stored, _)| stored == key)
            .map(|(_, value)| value.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut sessions = self.0.lock().unwrap();
        let index = sessions.iter().position(|(stored, _)| stored == key)?;
        Some(sessions.remove(index).1)
    }

    fn can_cache(&self) -> bool {
        true
    }
}
