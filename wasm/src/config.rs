//! A config is one trust policy: its anchors, its pin verifier, the client
//! identity it presents, and its own session cache, so that a session is only
//! ever resumed under the policy (and identity) that made it.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, ResolvesClientCert, Resumption,
    Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::lock::{Lock, MakeMutex, MutexGuard, Poisoned};
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, NamedGroup, SignatureScheme, version};

use crate::aead;
use crate::host::HostTime;
use crate::kx::{X25519, X25519MLKEM768};
use crate::signatures;
use crate::slab::Global;
use crate::verifier::PathVerifier;
use crate::wire::{Flag, Groups};

/// Sessions remembered per config: rustls keeps up to 8 tickets per server.
const SESSION_CACHE_SIZE: usize = 256;

/// The `Flag` bits about client authentication that the session being
/// processed gained during the current call (session.rs takes them after it).
pub static CLIENT_AUTH: Global<u32> = Global::new(0);

pub fn record_client_auth(flag: Flag) {
    *CLIENT_AUTH.get() |= flag as u32;
}

/// Builds a client config trusting `ca_ders` (DER certificates), or Mozilla's
/// roots when there are none, that presents `identity` to a server that asks
/// for a certificate and offers `groups`. `None` if a certificate cannot be an anchor.
pub fn new_config(
    ca_ders: &[&[u8]],
    identity: Option<Arc<CertifiedKey>>,
    groups: Groups,
) -> Option<Arc<ClientConfig>> {
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
    // ring's X25519 gives way to the host's (see kx.rs), in its place in the order.
    for group in provider.kx_groups.iter_mut() {
        if group.name() == NamedGroup::X25519 {
            *group = X25519;
        }
    }
    if groups == Groups::PostQuantumFirst {
        // The hybrid first: rustls then sends its share and X25519's (see kx.rs).
        provider.kx_groups.insert(0, X25519MLKEM768);
    }
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
        .with_client_cert_resolver(Arc::new(ClientAuth { identity }));
    let sessions = ClientSessionMemoryCache::new::<SingleThreaded>(SESSION_CACHE_SIZE);
    config.resumption = Resumption::store(match groups {
        Groups::PostQuantumFirst => Arc::new(EveryHelloHybrid(sessions)),
        Groups::ClassicalOnly => Arc::new(sessions),
    });
    Some(Arc::new(config))
}

/// The session cache of a config that offers X25519MLKEM768, without rustls's
/// memory of the group each server chose last. With it, a later ClientHello to
/// a server that once chose X25519 would carry X25519's share alone, and stay
/// classical after the server gains the hybrid; without it every ClientHello
/// carries the hybrid's share and X25519's, as browsers' do, and a classical
/// server still needs no retry.
#[derive(Debug)]
struct EveryHelloHybrid(ClientSessionMemoryCache);

impl ClientSessionStore for EveryHelloHybrid {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        None
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.0.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.0.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.0.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.0.insert_tls13_ticket(server_name, value);
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.0.take_tls13_ticket(server_name)
    }
}

/// The config's client identity, if any, offered to every server that asks.
#[derive(Debug)]
struct ClientAuth {
    identity: Option<Arc<CertifiedKey>>,
}

impl ResolvesClientCert for ClientAuth {
    /// rustls asks when a CertificateRequest arrives, before it verifies the
    /// server's chain; it sends the certificate only after (see identity.rs).
    fn resolve(
        &self,
        _acceptable_issuers: &[&[u8]],
        offered: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        record_client_auth(Flag::ClientCertRequested);
        // Offered only if the key can sign with a scheme the server accepts; rustls then picks that scheme.
        let identity = self.identity.as_ref()?;
        identity.key.choose_scheme(offered)?;
        Some(Arc::clone(identity))
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
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
        assert!(new_config(&[], None, Groups::PostQuantumFirst).is_some());
    }

    #[test]
    fn given_certificates_make_a_config() {
        assert!(new_config(&[CA_DER], None, Groups::PostQuantumFirst).is_some());
        assert!(new_config(&[CA_DER, CA_DER], None, Groups::ClassicalOnly).is_some());
    }

    #[test]
    fn a_certificate_that_cannot_be_an_anchor_refuses_the_config() {
        for der in [
            &[][..],
            &[0x30, 0x00],
            &CA_DER[..CA_DER.len() - 1],
            b"not DER",
        ] {
            assert!(
                new_config(&[CA_DER, der], None, Groups::PostQuantumFirst).is_none(),
                "{der:?}"
            );
        }
    }
}
