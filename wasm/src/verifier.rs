//! Chain verification: webpki checks the name, builds and checks the path, and
//! the host decides on the pins of each fully verified candidate path — never
//! on extra certificates the server merely sent. Before path building the host
//! sees the certificates as sent: for a leaf that its policy trusts by itself
//! (pins-only, or a certificate given as trusted), it decides there.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use crate::host::{self, Stage};
use crate::signatures::der;
use crate::slab::Global;

/// The session whose handshake is being processed, so that the verifier,
/// shared by every session of a config, can name it to the host.
pub static CURRENT_SESSION: Global<u32> = Global::new(0);

/// webpki's description of the last verification failure.
pub static VERIFY_DETAIL: Global<Option<String>> = Global::new(None);

/// The host's verdicts on the presented certificates.
const CONTINUE: u32 = 0;
const LEAF_TRUSTED: u32 = 1;
const LEAF_NOT_VALID_NOW: u32 = 2;
// 3 is LEAF_MISMATCH: refused like any verdict not named here.
/// Build the path; if no path matches the pins, accept the first trusted one and report it.
const CONTINUE_REPORT_ONLY: u32 = 4;
/// The host's verdict on a verified path.
const PATH_ACCEPTED: u32 = 0;

/// Kinds of entries in the encoded path handed to the host.
const ENTRY_CERTIFICATE: u8 = 0;
const ENTRY_ANCHOR_SUBJECT: u8 = 1;
const ENTRY_ANCHOR_SPKI: u8 = 2;

#[derive(Debug)]
pub struct PathVerifier {
    pub anchors: Vec<TrustAnchor<'static>>,
    pub algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PathVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let leaf = EndEntityCert::try_from(end_entity).map_err(pki_error)?;
        // The host sees what was sent even when the name is wrong (getPins shows it); the name is still
        // checked before any verdict counts.
        let session = *CURRENT_SESSION.get();
        let verdict = host::ask(session, &encode_presented(end_entity, intermediates), Stage::Presented);
        leaf.verify_is_valid_for_subject_name(server_name)
            .map_err(pki_error)?;

        let report_only = match verdict {
            CONTINUE => false,
            CONTINUE_REPORT_ONLY => true,
            LEAF_TRUSTED => return Ok(ServerCertVerified::assertion()),
            LEAF_NOT_VALID_NOW => {
                *VERIFY_DETAIL.get() = Some(String::from("the certificate is not valid at this time"));
                return Err(CertificateError::Expired.into());
            }
            // LEAF_MISMATCH, and any verdict this engine does not know: refuse.
            _ => return Err(CertificateError::ApplicationVerificationFailure.into()),
        };

        // The pins are decided inside path building, so that webpki tries the
        // other valid paths (cross-signed intermediates) before giving up.
        let pins_rejected = Cell::new(false);
        let decide_pins = |path: &VerifiedPath<'_>| {
            if host::ask(session, &encode_path(path), Stage::Path) == PATH_ACCEPTED {
                Ok(())
            } else {
                pins_rejected.set(true);
                Err(webpki::Error::UnknownIssuer)
            }
        };
        let build = |decide: &dyn Fn(&VerifiedPath<'_>) -> Result<(), webpki::Error>| {
            leaf.verify_for_usage(
                self.algorithms.all,
                &self.anchors,
                intermediates,
                now,
                KeyUsage::server_auth(),
                None,
                Some(decide),
            )
        };
        match build(&decide_pins) {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            // Report-only: a trusted path exists but misses the pins; it is accepted and reported once.
            Err(_) if pins_rejected.get() && report_only => {
                let report = |path: &VerifiedPath<'_>| {
                    host::ask(session, &encode_path(path), Stage::Reported);
                    Ok(())
                };
                build(&report).map(|_| ServerCertVerified::assertion()).map_err(pki_error)
            }
            // A trusted path existed, but no path matched the pins.
            Err(_) if pins_rejected.get() => Err(CertificateError::ApplicationVerificationFailure.into()),
            Err(error) => Err(pki_error(error)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The leaf and the other certificates as the server sent them.
fn encode_presented(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut encoded = Vec::new();
    push_entry(&mut encoded, ENTRY_CERTIFICATE, end_entity.as_ref());
    for cert in intermediates {
        push_entry(&mut encoded, ENTRY_CERTIFICATE, cert.as_ref());
    }
    encoded
}

/// Leaf, intermediates, then the anchor's subject and SPKI, each entry as
/// `[kind: u8][length: u32 LE][bytes]`.
fn encode_path(path: &VerifiedPath<'_>) -> Vec<u8> {
    let mut encoded = Vec::new();
    push_entry(&mut encoded, ENTRY_CERTIFICATE, path.end_entity().der().as_ref());
    for cert in path.intermediate_certificates() {
        push_entry(&mut encoded, ENTRY_CERTIFICATE, cert.der().as_ref());
    }
    // webpki keeps an anchor as the contents of its subject and SPKI
    // SEQUENCEs; the host wants them as DER values.
    let anchor = path.anchor();
    push_entry(&mut encoded, ENTRY_ANCHOR_SUBJECT, &der(0x30, &anchor.subject));
    push_entry(&mut encoded, ENTRY_ANCHOR_SPKI, &der(0x30, &anchor.subject_public_key_info));
    encoded
}

fn push_entry(out: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Maps webpki's verdicts onto rustls's certificate errors (the host reads them
/// back as codes) and keeps webpki's own words for the message.
fn pki_error(error: webpki::Error) -> Error {
    use webpki::Error::*;
    *VERIFY_DETAIL.get() = Some(format!("{error:?}"));
    match error {
        CertExpired { .. } | InvalidCertValidity => CertificateError::Expired.into(),
        CertNotValidYet { .. } => CertificateError::NotValidYet.into(),
        CertNotValidForName(_) => CertificateError::NotValidForName.into(),
        UnknownIssuer => CertificateError::UnknownIssuer.into(),
        InvalidSignatureForPublicKey => CertificateError::BadSignature.into(),
        BadDer | BadDerTime | TrailingData(_) => CertificateError::BadEncoding.into(),
        _ => CertificateError::Other(rustls::OtherError()).into(),
    }
}
