//! One TLS client session driven through rustls's unbuffered API. The host
//! feeds received bytes in; each call leaves TLS bytes to send and decrypted
//! plaintext for the host to take before the next call.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem;

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError};
use rustls::{AlertDescription, CertificateError, ClientConfig, Error};

use crate::config::CLIENT_AUTH;
use crate::verifier::{CURRENT_SESSION, VERIFY_FAILURE};
use crate::wire::{Cause, FailureCode, Flag};

/// Room for one handshake flight record before rustls asks for more.
const ENCODE_HINT: usize = 4096;
/// Per-record overhead of encryption, rounded up generously.
const RECORD_OVERHEAD: usize = 64;
const MAX_FRAGMENT: usize = 16_384;

pub enum Action<'a> {
    None,
    Write(&'a [u8]),
    CloseNotify,
}

/// Why a session failed: its code, the cause of a certificate failure, and the engine's words for it.
pub struct Failure {
    pub code: FailureCode,
    pub cause: Cause,
    pub message: String,
}

pub struct Session {
    tls: UnbufferedClientConnection,
    /// Received TLS bytes; `filled` of them are valid, the rest is spare room.
    incoming: Vec<u8>,
    filled: usize,
    pub outgoing: Vec<u8>,
    pub plaintext: Vec<u8>,
    pub flags: u32,
    pub failure: Option<Failure>,
}

impl Session {
    pub fn new(config: Arc<ClientConfig>, server_name: &str, alpn: Vec<Vec<u8>>) -> Option<Self> {
        let name = ServerName::try_from(server_name).ok()?.to_owned();
        let tls = UnbufferedClientConnection::new_with_alpn(config, name, alpn).ok()?;
        Some(Self {
            tls,
            incoming: Vec::new(),
            filled: 0,
            outgoing: Vec::new(),
            plaintext: Vec::new(),
            flags: 0,
            failure: None,
        })
    }

    /// Room for `len` received bytes, which the host writes before `process`.
    pub fn input_room(&mut self, len: usize) -> *mut u8 {
        if self.incoming.len() < self.filled + len {
            self.incoming.resize(self.filled + len, 0);
        }
        self.incoming[self.filled..].as_mut_ptr()
    }

    /// Gives back the room that large reads and writes grew, keeping the
    /// received bytes not processed yet: the host calls it when the
    /// connection goes idle, which then holds what a new one holds.
    pub fn shrink(&mut self) {
        self.outgoing = Vec::new();
        self.plaintext = Vec::new();
        self.incoming.truncate(self.filled);
        self.incoming.shrink_to_fit();
    }

    /// Takes `received` bytes written into the input room, then runs the
    /// connection until it needs more input, performing `action` once it may.
    pub fn process(&mut self, id: u32, received: usize, action: Action<'_>) {
        self.outgoing.clear();
        self.plaintext.clear();
        if self.failure.is_some() {
            return;
        }
        self.filled = (self.filled + received).min(self.incoming.len());
        *CURRENT_SESSION.get() = id;
        *VERIFY_FAILURE.get() = None;
        *CLIENT_AUTH.get() = 0;
        let driven = self.drive(action);
        self.flags |= mem::take(CLIENT_AUTH.get());
        if let Err(error) = driven {
            self.fail(error);
        }
    }

    fn drive(&mut self, mut action: Action<'_>) -> Result<(), Error> {
        loop {
            let status = self
                .tls
                .process_tls_records(&mut self.incoming[..self.filled]);
            let mut discard = status.discard;
            // The discard is due even when the step fails: `fail` calls rustls again.
            let step = (|| -> Result<bool, Error> {
                Ok(match status.state? {
                    ConnectionState::ReadTraffic(mut traffic) => {
                        while let Some(record) = traffic.next_record() {
                            let record = record?;
                            discard += record.discard;
                            self.plaintext.extend_from_slice(record.payload);
                        }
                        false
                    }
                    ConnectionState::EncodeTlsData(mut data) => {
                        encode(&mut self.outgoing, ENCODE_HINT, |out| data.encode(out))?;
                        false
                    }
                    // The host sends `outgoing` in order before anything later.
                    ConnectionState::TransmitTlsData(data) => {
                        data.done();
                        false
                    }
                    ConnectionState::PeerClosed => {
                        self.flags |= Flag::PeerClosed as u32;
                        false
                    }
                    ConnectionState::WriteTraffic(mut traffic) => {
                        self.flags |= Flag::HandshakeDone as u32;
                        match mem::replace(&mut action, Action::None) {
                            Action::None => true,
                            Action::Write(data) => {
                                let hint =
                                    data.len() + (data.len() / MAX_FRAGMENT + 1) * RECORD_OVERHEAD;
                                encode(&mut self.outgoing, hint, |out| traffic.encrypt(data, out))?;
                                false
                            }
                            Action::CloseNotify => {
                                encode(&mut self.outgoing, RECORD_OVERHEAD, |out| {
                                    traffic.queue_close_notify(out)
                                })?;
                                false
                            }
                        }
                    }
                    _ => true,
                })
            })();
            self.incoming.copy_within(discard..self.filled, 0);
            self.filled -= discard;
            if step? {
                break;
            }
        }
        match action {
            Action::None => Ok(()),
            _ => Err(Error::General(String::from(
                "the connection cannot send application data in its current state",
            ))),
        }
    }

    fn fail(&mut self, error: Error) {
        self.failure = Some(match self.client_certificate_refusal(&error) {
            Some(alert) => Failure {
                code: FailureCode::ClientCertificate,
                cause: Cause::Unspecified,
                message: String::from(alert),
            },
            None => failure_of(error),
        });
        self.flags |= Flag::Failed as u32;
        // rustls has queued a fatal alert for the peer: one more call hands it
        // over, before rustls reads any received byte (a second call would
        // read them again). The received bytes go along all the same: rustls
        // may still hold a handshake message split across records in them.
        let status = self
            .tls
            .process_tls_records(&mut self.incoming[..self.filled]);
        if let Ok(ConnectionState::EncodeTlsData(mut data)) = status.state {
            // An alert that cannot be encoded is not sent; the failure stands.
            let _ = encode(&mut self.outgoing, RECORD_OVERHEAD, |out| data.encode(out));
        }
    }

    /// The name of the alert by which a server that asked for a client
    /// certificate refused the handshake over it, if `error` is one.
    fn client_certificate_refusal(&self, error: &Error) -> Option<&'static str> {
        match error {
            Error::AlertReceived(alert) if self.flags & Flag::ClientCertRequested as u32 != 0 => {
                client_certificate_alert(*alert)
            }
            _ => None,
        }
    }

    pub fn protocol_version(&self) -> u32 {
        self.tls
            .protocol_version()
            .map_or(0, |version| u16::from(version) as u32)
    }

    pub fn key_exchange(&self) -> u32 {
        self.tls
            .negotiated_key_exchange_group()
            .map_or(0, |group| u16::from(group.name()) as u32)
    }

    pub fn alpn(&self) -> &[u8] {
        self.tls.alpn_protocol().unwrap_or(&[])
    }
}

/// The snake_case name of an alert a server sends when it refuses a client
/// certificate, or the lack of one; `None` for every other alert.
fn client_certificate_alert(alert: AlertDescription) -> Option<&'static str> {
    Some(match alert {
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::CertificateRequired => "certificate_required",
        _ => return None,
    })
}

/// The failure code, cause and message of any other error.
fn failure_of(error: Error) -> Failure {
    let code = match &error {
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => FailureCode::Expired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                FailureCode::Hostname
            }
            CertificateError::ApplicationVerificationFailure => FailureCode::PinMismatch,
            _ => FailureCode::Untrusted,
        },
        _ => FailureCode::Tls,
    };
    // The verifier's cause and webpki's words; otherwise rustls's, for the handshake's own signature.
    let (cause, message) = match VERIFY_FAILURE.get().take() {
        Some(failure) => failure,
        None => {
            let cause = match &error {
                Error::InvalidCertificate(CertificateError::BadSignature) => Cause::BadSignature,
                Error::InvalidCertificate(
                    CertificateError::UnsupportedSignatureAlgorithmContext { .. }
                    | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. },
                ) => Cause::UnsupportedAlgorithm,
                _ => Cause::Unspecified,
            };
            (cause, format!("{error}"))
        }
    };
    Failure {
        code,
        cause,
        message,
    }
}

/// An encoding step that reports the room it needs when given too little.
trait NeedsRoom {
    fn required_size(&self) -> Option<usize>;
}

impl NeedsRoom for EncodeError {
    fn required_size(&self) -> Option<usize> {
        match self {
            EncodeError::InsufficientSize(size) => Some(size.required_size),
            _ => None,
        }
    }
}

impl NeedsRoom for EncryptError {
    fn required_size(&self) -> Option<usize> {
        match self {
            EncryptError::InsufficientSize(size) => Some(size.required_size),
            _ => None,
        }
    }
}

/// Appends the output of `step` to `out`, growing it to the size rustls asks for.
fn encode<E: NeedsRoom + core::fmt::Debug>(
    out: &mut Vec<u8>,
    hint: usize,
    mut step: impl FnMut(&mut [u8]) -> Result<usize, E>,
) -> Result<(), Error> {
    let start = out.len();
    let mut room = hint;
    loop {
        out.resize(start + room, 0);
        match step(&mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                return Ok(());
            }
            Err(error) => match error.required_size() {
                Some(required) if required > room => room = required,
                _ => {
                    out.truncate(start);
                    return Err(Error::General(format!(
                        "encoding TLS data failed: {error:?}"
                    )));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::new_config;
    use crate::wire::Groups;

    fn failed_session(flags: u32, error: Error) -> Failure {
        let config = new_config(&[], None, Groups::PostQuantumFirst).unwrap();
        let mut session = Session::new(config, "example.com", Vec::new()).unwrap();
        session.flags = flags;
        session.fail(error);
        session.failure.unwrap()
    }

    #[test]
    fn alerts_about_client_certificates_are_named_by_their_wire_names() {
        for (alert, name) in [
            (AlertDescription::HandshakeFailure, "handshake_failure"),
            (AlertDescription::BadCertificate, "bad_certificate"),
            (
                AlertDescription::UnsupportedCertificate,
                "unsupported_certificate",
            ),
            (AlertDescription::CertificateRevoked, "certificate_revoked"),
            (AlertDescription::CertificateExpired, "certificate_expired"),
            (AlertDescription::CertificateUnknown, "certificate_unknown"),
            (AlertDescription::UnknownCA, "unknown_ca"),
            (AlertDescription::AccessDenied, "access_denied"),
            (
                AlertDescription::CertificateRequired,
                "certificate_required",
            ),
        ] {
            assert_eq!(client_certificate_alert(alert), Some(name));
        }
        for alert in [
            AlertDescription::DecodeError,
            AlertDescription::InternalError,
            AlertDescription::ProtocolVersion,
            AlertDescription::Unknown(200),
        ] {
            assert_eq!(client_certificate_alert(alert), None);
        }
    }

    #[test]
    fn a_certificate_alert_after_a_certificate_request_is_a_client_certificate_failure() {
        let failure = failed_session(
            Flag::ClientCertRequested as u32,
            Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        assert_eq!(failure.code, FailureCode::ClientCertificate);
        assert_eq!(failure.cause, Cause::Unspecified);
        assert_eq!(failure.message, "certificate_required");
    }

    #[test]
    fn other_alerts_and_alerts_without_a_certificate_request_stay_tls_failures() {
        for (flags, alert) in [
            (0, AlertDescription::UnknownCA),
            (
                Flag::ClientCertRequested as u32 | Flag::ClientCertSent as u32,
                AlertDescription::DecodeError,
            ),
        ] {
            let failure = failed_session(flags, Error::AlertReceived(alert));
            assert_eq!(failure.code, FailureCode::Tls, "{alert:?}");
        }
    }
}
