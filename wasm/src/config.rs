//! A config is one trust policy: its anchors, its pin verifier and its own
//! session cache, so that a session is only ever resumed under the policy that
//! verified it.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::lock::{Lock, MakeMutex, MutexGuard, Poisoned};
use rustls::pki_types::{CertificateDer, TrustAnchor};
use rustls::{ClientConfig, version};

use crate::aead;
use crate::host::HostTime;
use crate::signatures;
use crate::verifier::PathVerifier;

/// Sessions remembered per config: rustls keeps up to 8 tickets per server.
const SESSION_CACHE_SIZE: usize = 256;

/// Builds a client config trusting `ca_ders` (DER certificates), or Mozilla's
/// roots when there are none. `None` if a certificate cannot be an anchor.
pub fn new_config(ca_ders: &[&[u8]]) -> Option<Arc<ClientConfig>> {
    let anchors: Vec<TrustAnchor<'static>> = if ca_ders.is_empty() {
        webpki_roots::TLS_SERVER_ROOTS.to_vec()
    } else {
        ca_ders
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(&CertificateDer::from(*der))
                    .map(|anchor| anchor.to_owned())
            })
            .collect::<Result<_, _>>()
            .ok()?
    };

    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = aead::fastest_first(&provider.cipher_suites);
    let provider = Arc::new(provider);
    let verifier = PathVerifier {
        anchors,
        algorithms: signatures::ALGORITHMS,
    };
    let mut config = ClientConfig::builder_with_details(provider, Arc::new(HostTime))
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.resumption = Resumption::store(Arc::new(
        ClientSessionMemoryCache::new::<SingleThreaded>(SESSION_CACHE_SIZE),
    ));
    Some(Arc::new(config))
}

/// rustls wants a mutex for its session cache; this module has one thread.
struct SingleThreaded;

impl MakeMutex for SingleThreaded {
    fn make_mutex<T: Send + 'static>(value: T) -> Arc<dyn Lock<T>> {
        Arc::new(CellLock(RefCell::new(value)))
    }
}

struct CellLock<T>(RefCell<T>);

// SAFETY: wasm32-unknown-unknown without threads; a second lock fails instead of racing.
unsafe impl<T> Sync for CellLock<T> {}

impl<T> fmt::Debug for CellLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CellLock")
    }
}

impl<T: Send> Lock<T> for CellLock<T> {
    fn lock(&self) -> Result<MutexGuard<'_, T>, Poisoned> {
        match self.0.try_borrow_mut() {
            Ok(guard) => Ok(Box::new(guard)),
            Err(_) => Err(Poisoned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_DER: &[u8] = include_bytes!("../fuzz/fixtures/ca.der");

    #[test]
    fn no_certificates_means_mozillas_roots() {
        assert!(new_config(&[]).is_some());
    }

    #[test]
    fn given_certificates_make_a_config() {
        assert!(new_config(&[CA_DER]).is_some());
        assert!(new_config(&[CA_DER, CA_DER]).is_some());
    }

    #[test]
    fn a_certificate_that_cannot_be_an_anchor_refuses_the_config() {
        for der in [
            &[][..],
            &[0x30, 0x00],
            &CA_DER[..CA_DER.len() - 1],
            b"not DER",
        ] {
            assert!(new_config(&[CA_DER, der]).is_none(), "{der:?}");
        }
    }
}
