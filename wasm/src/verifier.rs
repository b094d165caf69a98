//! Chain verification: webpki builds and checks a path to a trust anchor, the
//! host decides on the pins of each fully verified candidate path (never on
//! extra certificates the server merely sent), and only then is the leaf's
//! name checked, so that a certificate error wins over a pin mismatch and an
//! untrusted chain over a wrong name. Before path building the host sees the
//! certificates as sent: for a leaf that its policy trusts by itself
//! (pins-only, or a certificate given as trusted), it decides there, once the
//! name is checked.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::AtomicU32;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{
    CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime,
};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use crate::bounds;
use crate::host;
use crate::signatures::der;
use crate::slab::Global;
use crate::wire::{Cause, EntryKind, PathVerdict, Stage, Verdict};

/// The session whose handshake is being processed, so that the verifier,
/// shared by every session of a config, can name it to the host.
pub static CURRENT_SESSION: Global<u32> = Global::new(0);

/// Why the last verification failed, and webpki's words for it.
pub static VERIFY_FAILURE: Global<Option<(Cause, String)>> = Global::new(None);

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
        // The host sees what was sent even when the chain or name is wrong (getPins shows it).
        let session = *CURRENT_SESSION.get();
        let verdict = host::ask(
            session,
            &encode_presented(end_entity, intermediates),
            Stage::Presented,
        );
        let check_name = || {
            leaf.verify_is_valid_for_subject_name(server_name)
                .map_err(pki_error)
        };
        let report_only = match Verdict::from_number(verdict) {
            Some(Verdict::Continue) => false,
            Some(Verdict::ContinueReportOnly) => true,
            // A leaf trusted by itself: its name goes before the host's verdict.
            Some(Verdict::LeafTrusted) => {
                return check_name().map(|_| ServerCertVerified::assertion());
            }
            Some(Verdict::LeafNotValidNow) => {
                check_name()?;
                fail(
                    Cause::Unspecified,
                    String::from("the certificate is not valid at this time"),
                );
                return Err(CertificateError::Expired.into());
            }
            // A mismatch, and any verdict this engine does not know: refuse.
            Some(Verdict::LeafMismatch) | None => {
                check_name()?;
                return Err(CertificateError::ApplicationVerificationFailure.into());
            }
        };

        let candidates =
            bounds::candidates(&leaf, intermediates, &self.anchors).map_err(|why| {
                fail(Cause::TooComplex, why);
                Error::from(CertificateError::Other(OtherError()))
            })?;
        // The pins are decided inside path building, so that webpki tries the
        // other valid paths (cross-signed intermediates) before giving up.
        let pins_rejected = Cell::new(false);
        let decide_pins = |path: &VerifiedPath<'_>| {
            if host::ask(session, &encode_path(path), Stage::Path) == PathVerdict::Accepted as u32 {
                Ok(())
            } else {
                pins_rejected.set(true);
                Err(webpki::Error::UnknownIssuer)
            }
        };
        let build = |decide: &dyn Fn(&VerifiedPath<'_>) -> Result<(), webpki::Error>| {
            let failed_signatures = AtomicU32::new(0);
            let bounded = bounds::bounded(self.algorithms.all, &failed_signatures);
            let algorithms: Vec<&dyn SignatureVerificationAlgorithm> =
                bounded.iter().map(|algorithm| algorithm as _).collect();
            leaf.verify_for_usage(
                &algorithms,
                &self.anchors,
                &candidates.certificates,
                now,
                KeyUsage::server_auth(),
                None,
                Some(decide),
            )
            .map(|_| ())
        };
        let built = build(&decide_pins);
        // Certificate errors take precedence: no trusted path, then a wrong name, and only then the pins.
        if let (Err(error), false) = (&built, pins_rejected.get()) {
            return Err(pki_error(match (error, candidates.unparsable) {
                // No path, and a certificate that could not be parsed: webpki would have named the latter.
                (webpki::Error::UnknownIssuer, Some(unparsable)) => unparsable,
                (error, _) => error.clone(),
            }));
        }
        check_name()?;
        match built {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            // Report-only: a trusted path exists but misses the pins; it is accepted and reported once.
            Err(_) if report_only => {
                let report = |path: &VerifiedPath<'_>| {
                    host::ask(session, &encode_path(path), Stage::Reported);
                    Ok(())
                };
                build(&report)
                    .map(|_| ServerCertVerified::assertion())
                    .map_err(pki_error)
            }
            // A trusted path existed, but no path matched the pins.
            Err(_) => Err(CertificateError::ApplicationVerificationFailure.into()),
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
fn encode_presented(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Vec<u8> {
    let mut encoded = Vec::new();
    push_entry(&mut encoded, EntryKind::Certificate, end_entity.as_ref());
    for cert in intermediates {
        push_entry(&mut encoded, EntryKind::Certificate, cert.as_ref());
    }
    encoded
}

/// Leaf, intermediates, then the anchor's subject and SPKI, each entry as
/// `[kind: u8][length: u32 LE][bytes]`.
fn encode_path(path: &VerifiedPath<'_>) -> Vec<u8> {
    let mut encoded = Vec::new();
    push_entry(
        &mut encoded,
        EntryKind::Certificate,
        path.end_entity().der().as_ref(),
    );
    for cert in path.intermediate_certificates() {
        push_entry(&mut encoded, EntryKind::Certificate, cert.der().as_ref());
    }
    // webpki keeps an anchor as the contents of its subject and SPKI
    // SEQUENCEs; the host wants them as DER values.
    let anchor = path.anchor();
    push_entry(
        &mut encoded,
        EntryKind::AnchorSubject,
        &der(0x30, &anchor.subject),
    );
    push_entry(
        &mut encoded,
        EntryKind::AnchorSpki,
        &der(0x30, &anchor.subject_public_key_info),
    );
    encoded
}

fn push_entry(out: &mut Vec<u8>, kind: EntryKind, bytes: &[u8]) {
    out.push(kind as u8);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Records why verification failed, for the host's message.
fn fail(cause: Cause, detail: String) {
    *VERIFY_FAILURE.get() = Some((cause, detail));
}

/// Maps webpki's verdicts onto rustls's certificate errors (the host reads them
/// back as codes), and records the cause with webpki's own words for it.
fn pki_error(error: webpki::Error) -> Error {
    use webpki::Error::*;
    fail(cause_of(&error), describe(&error));
    match error {
        CertExpired { .. } | InvalidCertValidity => CertificateError::Expired.into(),
        CertNotValidYet { .. } => CertificateError::NotValidYet.into(),
        CertNotValidForName(_) => CertificateError::NotValidForName.into(),
        UnknownIssuer => CertificateError::UnknownIssuer.into(),
        InvalidSignatureForPublicKey => CertificateError::BadSignature.into(),
        BadDer | BadDerTime | TrailingData(_) => CertificateError::BadEncoding.into(),
        _ => CertificateError::Other(OtherError()).into(),
    }
}

/// webpki's words for `error`, with a signature algorithm as its OID rather than the list of every supported one.
fn describe(error: &webpki::Error) -> String {
    match error {
        webpki::Error::UnsupportedSignatureAlgorithmContext(context) => {
            format!(
                "UnsupportedSignatureAlgorithm({})",
                oid(&context.signature_algorithm_id)
            )
        }
        webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(context) => format!(
            "UnsupportedSignatureAlgorithmForPublicKey(signature {}, key {})",
            oid(&context.signature_algorithm_id),
            oid(&context.public_key_algorithm_id)
        ),
        _ => format!("{error:?}"),
    }
}

/// The OID that begins an AlgorithmIdentifier's contents, dotted (ecdsa-with-SHA1 is 1.2.840.10045.4.1).
fn oid(algorithm: &[u8]) -> String {
    let body = match algorithm {
        [0x06, len, rest @ ..] if usize::from(*len) <= rest.len() && *len > 0 => {
            &rest[..usize::from(*len)]
        }
        _ => return String::from("?"),
    };
    let mut dotted = format!("{}.{}", body[0] / 40, body[0] % 40);
    let mut arc: u64 = 0;
    for &byte in &body[1..] {
        arc = (arc << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            dotted.push_str(&format!(".{arc}"));
            arc = 0;
        }
    }
    dotted
}

/// The cause of a certificate error of webpki that the failure code does not already say.
#[allow(deprecated)]
fn cause_of(error: &webpki::Error) -> Cause {
    use webpki::Error::*;
    match error {
        UnknownIssuer => Cause::UnknownIssuer,
        InvalidSignatureForPublicKey => Cause::BadSignature,
        NameConstraintViolation => Cause::NameConstraints,
        EndEntityUsedAsCa => Cause::NotCa,
        CaUsedAsEndEntity => Cause::CaAsLeaf,
        RequiredEkuNotFound | RequiredEkuNotFoundContext(_) | EmptyEkuExtension => Cause::KeyUsage,
        UnsupportedSignatureAlgorithm
        | UnsupportedSignatureAlgorithmContext(_)
        | UnsupportedSignatureAlgorithmForPublicKey
        | UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | SignatureAlgorithmMismatch => Cause::UnsupportedAlgorithm,
        BadDer
        | BadDerTime
        | TrailingData(_)
        | MalformedExtensions
        | ExtensionValueInvalid
        | InvalidSerialNumber
        | MalformedDnsIdentifier
        | MalformedNameConstraint
        | InvalidNetworkMaskConstraint => Cause::Unparsable,
        MaximumPathBuildCallsExceeded
        | MaximumSignatureChecksExceeded
        | MaximumNameConstraintComparisonsExceeded => Cause::TooComplex,
        MaximumPathDepthExceeded | PathLenConstraintViolated => Cause::PathTooLong,
        UnsupportedCriticalExtension | UnsupportedCertVersion => Cause::UnsupportedExtension,
        CertDistrusted => Cause::Distrusted,
        _ => Cause::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_dotted() {
        // ecdsa-with-SHA1 and sha256WithRSAEncryption, each followed by parameters that are ignored.
        assert_eq!(
            oid(&[0x06, 7, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]),
            "1.2.840.10045.4.1"
        );
        assert_eq!(
            oid(&[
                0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00
            ]),
            "1.2.840.113549.1.1.11"
        );
    }

    #[test]
    fn what_is_not_an_oid_reads_as_a_question_mark() {
        for algorithm in [&[][..], &[0x05, 0], &[0x06, 0], &[0x06, 3, 0x2a], &[0x06]] {
            assert_eq!(oid(algorithm), "?", "{algorithm:?}");
        }
    }
}
