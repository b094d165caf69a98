//! What path building may cost. webpki tries, at each step, every certificate
//! the server sent whose subject is the name the path's head gives as its
//! issuer, parses every sent certificate again at each step, and goes up to 6
//! intermediates deep. Its own budget (200,000 steps, 100 signature checks) is
//! not configurable and lets a chain of a few dozen same-named certificates
//! hold the engine for seconds, more so when they are padded with unrelated
//! ones, and so can signatures that do not verify (ring checks each again in
//! wasm once the host finds it invalid). BENCHMARKS.md ("Figures behind
//! design choices") has what such chains cost before path building was bounded.
//!
//! So path building gets only the sent certificates that can lie on a chain
//! of names from the leaf to a trust anchor, without duplicates, and only if
//! the search they allow is small: the search is first walked on names alone,
//! which costs a few comparisons per step, and counted. And once signatures
//! have failed twice, path building stops checking them.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    SubjectPublicKeyInfoDer, TrustAnchor,
};
use webpki::EndEntityCert;

/// Steps of the search: a certificate tried as the next on a partial path. Real chains take a handful
/// (a cross-signed root, 4 or 5 intermediates), BetterTLS's bridge-CA graph of 35 certificates about a
/// dozen. At each step webpki parses every candidate again, so steps are kept few (BENCHMARKS.md).
pub const MAX_STEPS: usize = 64;
/// Partial paths that reach a trust anchor. Each costs signature checks and, if they verify, a call to the
/// pin verifier. Real chains reach one or two (a cross-signed root, or a root the server also sends).
pub const MAX_ANCHORED: usize = 8;
/// Signature checks that may fail in one path building, after which no signature is checked: a certificate
/// whose signature the host's crypto refuses is checked again by ring in wasm, slowest for a P-384 key.
/// Two let a chain through that meets one stale same-named CA, or one old anchor of a renewed private CA.
pub const MAX_FAILED_SIGNATURES: u32 = 2;
/// webpki's own limit on intermediates in a path.
const MAX_DEPTH: usize = 6;

/// The sent certificates that path building may use.
pub struct Candidates<'a> {
    /// In the order sent, which is the order webpki tries them in.
    pub certificates: Vec<CertificateDer<'a>>,
    /// Why a sent certificate could not be parsed, if one could not: webpki would have said so.
    pub unparsable: Option<webpki::Error>,
}

struct Sent<'a> {
    cert: EndEntityCert<'a>,
    spki: SubjectPublicKeyInfoDer<'static>,
    der: &'a [u8],
}

impl Sent<'_> {
    /// webpki's test against loops: the same name and key as a certificate already on the path.
    fn same_entity(&self, subject: &[u8], spki: &SubjectPublicKeyInfoDer<'_>) -> bool {
        self.cert.subject() == subject && self.spki == *spki
    }
}

/// The certificates of `sent` that path building from `leaf` to `anchors` may
/// use, or, if the search they allow exceeds the bounds, why not (in words).
pub fn candidates<'a>(
    leaf: &EndEntityCert<'_>,
    sent: &'a [CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
) -> Result<Candidates<'a>, String> {
    let mut parsed: Vec<Sent<'a>> = Vec::new();
    let mut unparsable = None;
    for der in sent {
        if parsed.iter().any(|known| known.der == der.as_ref()) {
            continue;
        }
        match EndEntityCert::try_from(der) {
            Ok(cert) => parsed.push(Sent {
                spki: cert.subject_public_key_info(),
                cert,
                der: der.as_ref(),
            }),
            Err(error) => unparsable = unparsable.or(Some(error)),
        }
    }
    let on_name_chain = on_name_chains(leaf, &parsed, anchors);
    let kept: Vec<&Sent<'a>> = parsed
        .iter()
        .zip(on_name_chain)
        .filter_map(|(sent, on)| on.then_some(sent))
        .collect();

    let mut search = Search {
        kept: &kept,
        leaf_subject: leaf.subject(),
        leaf_spki: leaf.subject_public_key_info(),
        anchors,
        steps: 0,
        anchored: 0,
    };
    if search.walk(leaf.issuer(), &mut [0; MAX_DEPTH], 0).is_err() {
        let bound = if search.anchored > MAX_ANCHORED {
            format!("more than {MAX_ANCHORED} candidate paths to a trust anchor")
        } else {
            format!("more than {MAX_STEPS} steps")
        };
        return Err(format!(
            "the server sent {} certificates, of which {} link the leaf to a trust anchor by their names in ways that would take path building {bound}",
            sent.len() + 1,
            kept.len(),
        ));
    }
    Ok(Candidates {
        certificates: kept
            .iter()
            .map(|sent| CertificateDer::from(sent.der))
            .collect(),
        unparsable,
    })
}

/// Which of `sent` lie on some chain of names from `leaf` up to an anchor: named
/// as the issuer of the leaf or of another such certificate, and issued in the
/// name of an anchor or of another such certificate.
fn on_name_chains(
    leaf: &EndEntityCert<'_>,
    sent: &[Sent<'_>],
    anchors: &[TrustAnchor<'_>],
) -> Vec<bool> {
    let from_leaf = closure(
        sent,
        |cert| cert.subject() == leaf.issuer(),
        |next, cert| next.subject() == cert.issuer(),
    );
    let to_anchor = closure(
        sent,
        |cert| {
            anchors
                .iter()
                .any(|anchor| anchor.subject.as_ref() == cert.issuer())
        },
        |next, cert| next.issuer() == cert.subject(),
    );
    from_leaf
        .iter()
        .zip(to_anchor)
        .map(|(up, down)| *up && down)
        .collect()
}

/// The certificates that `start` marks, and every one that `follows` a marked one.
fn closure(
    sent: &[Sent<'_>],
    start: impl Fn(&EndEntityCert<'_>) -> bool,
    follows: impl Fn(&EndEntityCert<'_>, &EndEntityCert<'_>) -> bool,
) -> Vec<bool> {
    let mut marked: Vec<bool> = sent.iter().map(|sent| start(&sent.cert)).collect();
    let mut pending: Vec<usize> = (0..sent.len()).filter(|&index| marked[index]).collect();
    while let Some(index) = pending.pop() {
        for (next, candidate) in sent.iter().enumerate() {
            if !marked[next] && follows(&candidate.cert, &sent[index].cert) {
                marked[next] = true;
                pending.push(next);
            }
        }
    }
    marked
}

/// webpki's depth-first search, on names alone, counted. It never prunes
/// where webpki does not, so it counts at least what webpki would do.
struct Search<'s, 'a> {
    kept: &'s [&'s Sent<'a>],
    leaf_subject: &'s [u8],
    leaf_spki: SubjectPublicKeyInfoDer<'static>,
    anchors: &'s [TrustAnchor<'s>],
    steps: usize,
    anchored: usize,
}

impl Search<'_, '_> {
    /// From a partial path whose head names `issuer`, with `path[..depth]` the kept certificates on it.
    fn walk(
        &mut self,
        issuer: &[u8],
        path: &mut [usize; MAX_DEPTH],
        depth: usize,
    ) -> Result<(), ()> {
        self.anchored += self
            .anchors
            .iter()
            .filter(|anchor| anchor.subject.as_ref() == issuer)
            .count();
        if self.anchored > MAX_ANCHORED {
            return Err(());
        }
        for (index, candidate) in self.kept.iter().enumerate() {
            if candidate.cert.subject() != issuer
                || candidate.same_entity(self.leaf_subject, &self.leaf_spki)
                || path[..depth].iter().any(|&on| {
                    candidate.same_entity(self.kept[on].cert.subject(), &self.kept[on].spki)
                })
            {
                continue;
            }
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(());
            }
            // webpki counts the step, then finds the path too long.
            if depth < MAX_DEPTH {
                path[depth] = index;
                self.walk(candidate.cert.issuer(), path, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// A signature algorithm that refuses at once after `MAX_FAILED_SIGNATURES`
/// checks of one path building have failed.
#[derive(Debug)]
pub struct Bounded<'a> {
    algorithm: &'static dyn SignatureVerificationAlgorithm,
    failed: &'a AtomicU32,
}

/// `algorithms`, each counting its failures in `failed`.
pub fn bounded<'a>(
    algorithms: &[&'static dyn SignatureVerificationAlgorithm],
    failed: &'a AtomicU32,
) -> Vec<Bounded<'a>> {
    algorithms
        .iter()
        .map(|&algorithm| Bounded { algorithm, failed })
        .collect()
}

impl SignatureVerificationAlgorithm for Bounded<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if self.failed.load(Ordering::Relaxed) >= MAX_FAILED_SIGNATURES {
            return Err(InvalidSignature);
        }
        let verified = self
            .algorithm
            .verify_signature(public_key, message, signature);
        if verified.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        verified
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.signature_alg_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fuzz harness's fixtures: a CA and a leaf it issued for the server's name.
    const CA_DER: &[u8] = include_bytes!("../fuzz/fixtures/ca.der");
    const LEAF_DER: &[u8] = include_bytes!("../fuzz/fixtures/leaf.der");

    fn anchors() -> Vec<TrustAnchor<'static>> {
        vec![
            webpki::anchor_from_trusted_cert(&CertificateDer::from(CA_DER))
                .unwrap()
                .to_owned(),
        ]
    }

    /// The CA with another signature: the same names and key, other bytes.
    fn ca_variant(seed: u8) -> Vec<u8> {
        let mut der = CA_DER.to_vec();
        *der.last_mut().unwrap() ^= seed;
        der
    }

    /// The kept candidates' bytes, and whether a sent certificate was unparsable.
    fn candidates_of(sent: &[Vec<u8>]) -> Result<(Vec<Vec<u8>>, bool), String> {
        let leaf_der = CertificateDer::from(LEAF_DER);
        let leaf = EndEntityCert::try_from(&leaf_der).unwrap();
        let sent: Vec<CertificateDer<'_>> = sent
            .iter()
            .map(|der| CertificateDer::from(der.as_slice()))
            .collect();
        let kept = candidates(&leaf, &sent, &anchors())?;
        let certificates = kept.certificates.iter().map(|der| der.to_vec()).collect();
        Ok((certificates, kept.unparsable.is_some()))
    }

    #[test]
    fn a_leaf_sent_alone_needs_no_candidates() {
        assert_eq!(candidates_of(&[]), Ok((vec![], false)));
    }

    #[test]
    fn duplicates_and_certificates_off_the_name_chain_are_dropped() {
        assert_eq!(
            candidates_of(&[CA_DER.to_vec(), LEAF_DER.to_vec(), CA_DER.to_vec()]),
            Ok((vec![CA_DER.to_vec()], false))
        );
    }

    #[test]
    fn an_unparsable_certificate_is_remembered_and_left_out() {
        assert_eq!(
            candidates_of(&[vec![0x30, 0x03, 0x02, 0x01, 0x00], CA_DER.to_vec()]),
            Ok((vec![CA_DER.to_vec()], true))
        );
    }

    #[test]
    fn many_paths_to_the_anchor_are_refused_in_words() {
        // The leaf's issuer is the anchor itself, then each same-named CA is one more path.
        let few: Vec<Vec<u8>> = (1..MAX_ANCHORED as u8).map(ca_variant).collect();
        assert_eq!(candidates_of(&few), Ok((few.clone(), false)));
        let many: Vec<Vec<u8>> = (1..=MAX_ANCHORED as u8).map(ca_variant).collect();
        let why = candidates_of(&many).expect_err("refused");
        assert!(
            why.contains(&format!("more than {MAX_ANCHORED} candidate paths")),
            "{why}"
        );
    }
}
