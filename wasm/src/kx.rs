//! The engine's key exchange groups beyond ring's: X25519 computed by the host,
//! and X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem, code point 0x11EC), the
//! post-quantum hybrid: ML-KEM-768 from RustCrypto's ml-kem beside that X25519,
//! for TLS 1.3 only. The client's share is the ML-KEM encapsulation key followed
//! by the X25519 public key; the server's is the ML-KEM ciphertext followed
//! by its X25519 public key; the secret is ML-KEM's followed by X25519's.
//! Client side only: the engine never answers a ClientHello.
//!
//! X25519 goes to the host's native crypto (node:crypto), as signatures do:
//! ring's on wasm32 runs its 64-bit code with emulated 128-bit products, and
//! took a fifth of Bun's CPU per cold request. The private key stays in the
//! host (the engine holds a handle); only the public key and the agreed
//! secret, which the key schedule needs, enter the engine. A host without
//! X25519 (`x25519_new` gives 0) leaves it to ring.

use alloc::boxed::Box;
use alloc::vec::Vec;

use ml_kem::ml_kem_768::{Ciphertext, DecapsulationKey};
use ml_kem::{Decapsulate, KeyExport, Seed};
use rustls::crypto::ring::kx_group::X25519 as RING_X25519;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion};

use crate::{host, wipe};

pub static X25519: &dyn SupportedKxGroup = &HostX25519;
pub static X25519MLKEM768: &dyn SupportedKxGroup = &X25519MlKem768;

const ENCAPSULATION_KEY_LEN: usize = 1184;
const CIPHERTEXT_LEN: usize = 1088;
const SECRET_LEN: usize = 32;
const X25519_LEN: usize = 32;

/// X25519 by the host, or by ring where the host has none.
#[derive(Debug)]
struct HostX25519;

impl SupportedKxGroup for HostX25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        match host::x25519_new() {
            Some((key, public_key)) => Ok(Box::new(HostKey { key, public_key })),
            None => RING_X25519.start(),
        }
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// The host's handle to a private key, and its public key.
struct HostKey {
    key: u32,
    public_key: [u8; X25519_LEN],
}

impl ActiveKeyExchange for HostKey {
    /// As ring's: a share that is not 32 bytes, or one that gives no secret
    /// (a low-order point gives all zeros; the host refuses it), is invalid.
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        let peer: &[u8; X25519_LEN] = peer
            .try_into()
            .map_err(|_| PeerMisbehaved::InvalidKeyShare)?;
        let mut secret = [0u8; X25519_LEN];
        let agreed = host::x25519_agree(self.key, peer, &mut secret);
        let shared = agreed.then(|| SharedSecret::from(&secret[..]));
        wipe(&mut secret);
        shared.ok_or(PeerMisbehaved::InvalidKeyShare.into())
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }

    fn pub_key(&self) -> &[u8] {
        &self.public_key
    }
}

/// Completed or not, the host forgets the private key.
impl Drop for HostKey {
    fn drop(&mut self) {
        host::x25519_free(self.key);
    }
}

#[derive(Debug)]
struct X25519MlKem768;

impl SupportedKxGroup for X25519MlKem768 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let x25519 = X25519.start()?;
        // The host's random source, as ring's: the registered getrandom (host.rs).
        let mut seed = Seed::default();
        let drawn = getrandom::getrandom(&mut seed);
        // ml-kem wipes the key when it is dropped (its zeroize feature).
        let decapsulation_key = drawn.is_ok().then(|| DecapsulationKey::from_seed(seed));
        wipe(&mut seed);
        let decapsulation_key = decapsulation_key.ok_or(Error::FailedToGetRandomBytes)?;
        let mut share = Vec::with_capacity(ENCAPSULATION_KEY_LEN + X25519_LEN);
        share.extend_from_slice(&decapsulation_key.encapsulation_key().to_bytes());
        share.extend_from_slice(x25519.pub_key());
        Ok(Box::new(Active {
            decapsulation_key,
            x25519,
            share,
        }))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

struct Active {
    decapsulation_key: DecapsulationKey,
    x25519: Box<dyn ActiveKeyExchange>,
    share: Vec<u8>,
}

impl ActiveKeyExchange for Active {
    fn complete(self: Box<Self>, server_share: &[u8]) -> Result<SharedSecret, Error> {
        let (ciphertext, x25519_share) = server_share
            .split_at_checked(CIPHERTEXT_LEN)
            .filter(|(_, x25519_share)| x25519_share.len() == X25519_LEN)
            .ok_or(Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare))?;
        let Self {
            decapsulation_key,
            x25519,
            ..
        } = *self;
        let x25519_secret = x25519.complete(x25519_share)?;
        let ciphertext = Ciphertext::try_from(ciphertext)
            .map_err(|_| Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare))?;
        // Any ciphertext decapsulates: a forged one gives a secret the server does not have.
        let mut mlkem_secret = decapsulation_key.decapsulate(&ciphertext);
        let mut secret = Vec::with_capacity(SECRET_LEN + X25519_LEN);
        secret.extend_from_slice(&mlkem_secret);
        secret.extend_from_slice(x25519_secret.secret_bytes());
        wipe(&mut mlkem_secret);
        Ok(SharedSecret::from(secret))
    }

    /// rustls sends this X25519 share beside the hybrid's in the first
    /// ClientHello (X25519 is offered too), so a classical server needs no retry.
    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((NamedGroup::X25519, self.x25519.pub_key()))
    }

    fn complete_hybrid_component(
        self: Box<Self>,
        server_share: &[u8],
    ) -> Result<SharedSecret, Error> {
        self.x25519.complete(server_share)
    }

    fn pub_key(&self) -> &[u8] {
        &self.share
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }
}

#[cfg(test)]
mod tests {
    use ml_kem::ml_kem_768::EncapsulationKey;
    use shake::{ExtendableOutput, Shake128, Update, XofReader};

    use super::*;

    /// C2SP's accumulated ML-KEM-768 vectors (github.com/C2SP/CCTV, ML-KEM
    /// "accumulated", 100 rounds; also Go's crypto/mlkem TestAccumulated):
    /// seeds, messages and ciphertexts read from SHAKE-128 of nothing; every
    /// encapsulation key, ciphertext and secret, and the secret of
    /// decapsulating a random ciphertext (implicit rejection), written into
    /// another SHAKE-128, whose first 32 bytes are these.
    const ACCUMULATED_100: &str =
        "1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn mlkem768_gives_the_accumulated_known_answers() {
        let mut input = Shake128::default().finalize_xof();
        let mut output = Shake128::default();
        for _ in 0..100 {
            let mut seed = Seed::default();
            let mut message = [0u8; 32];
            let mut random_ciphertext = Ciphertext::default();
            input.read(&mut seed);
            let decapsulation_key = DecapsulationKey::from_seed(seed);
            let encapsulation_key = decapsulation_key.encapsulation_key();
            output.update(&encapsulation_key.to_bytes());
            input.read(&mut message);
            let (ciphertext, secret) = encapsulation_key.encapsulate_deterministic(&message.into());
            output.update(&ciphertext);
            output.update(&secret);
            assert_eq!(decapsulation_key.decapsulate(&ciphertext), secret);
            input.read(&mut random_ciphertext);
            output.update(&decapsulation_key.decapsulate(&random_ciphertext));
        }
        let mut digest = [0u8; 32];
        output.finalize_xof().read(&mut digest);
        assert_eq!(hex(&digest), ACCUMULATED_100);
    }

    /// What a server does with the client's share: the ML-KEM ciphertext and
    /// its X25519 share, in that order, and the secret it derives.
    fn serve(client_share: &[u8], message: [u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let (encapsulation_key, x25519_share) = client_share.split_at(ENCAPSULATION_KEY_LEN);
        let encapsulation_key =
            EncapsulationKey::new(encapsulation_key.try_into().unwrap()).unwrap();
        let (ciphertext, mlkem_secret) =
            encapsulation_key.encapsulate_deterministic(&message.into());
        let x25519 = RING_X25519.start_and_complete(x25519_share).unwrap();
        let share = [&ciphertext[..], &x25519.pub_key[..]].concat();
        let secret = [&mlkem_secret[..], x25519.secret.secret_bytes()].concat();
        (share, secret)
    }

    #[test]
    fn the_client_share_is_the_encapsulation_key_then_x25519() {
        let active = X25519MLKEM768.start().unwrap();
        assert_eq!(active.group(), NamedGroup::X25519MLKEM768);
        let share = active.pub_key();
        assert_eq!(share.len(), ENCAPSULATION_KEY_LEN + X25519_LEN);
        let (group, x25519_share) = active.hybrid_component().unwrap();
        assert_eq!(group, NamedGroup::X25519);
        assert_eq!(&share[ENCAPSULATION_KEY_LEN..], x25519_share);
    }

    #[test]
    fn client_and_server_agree_on_mlkem_then_x25519() {
        let active = X25519MLKEM768.start().unwrap();
        let (server_share, server_secret) = serve(active.pub_key(), [7; 32]);
        assert_eq!(server_share.len(), CIPHERTEXT_LEN + X25519_LEN);
        assert_eq!(server_secret.len(), SECRET_LEN + X25519_LEN);
        let secret = active.complete(&server_share).unwrap();
        assert_eq!(secret.secret_bytes(), server_secret);
    }

    #[test]
    fn a_server_choosing_x25519_completes_with_the_component() {
        let active = X25519MLKEM768.start().unwrap();
        let (_, x25519_share) = active.hybrid_component().unwrap();
        let server = RING_X25519.start_and_complete(x25519_share).unwrap();
        let secret = active.complete_hybrid_component(&server.pub_key).unwrap();
        assert_eq!(secret.secret_bytes(), server.secret.secret_bytes());
    }

    #[test]
    fn a_server_share_of_another_length_is_an_invalid_key_share() {
        let active = || X25519MLKEM768.start().unwrap();
        let (server_share, _) = serve(active().pub_key(), [7; 32]);
        let invalid = Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare);
        for share in [
            &[][..],
            &server_share[..CIPHERTEXT_LEN],
            &server_share[..server_share.len() - 1],
            &[server_share.as_slice(), &[0]].concat(),
            &server_share[X25519_LEN..],
        ] {
            assert_eq!(active().complete(share).err(), Some(invalid.clone()));
        }
        // An X25519 share of the right length that gives no secret (the all-zero point).
        let mut zero_point = server_share.clone();
        zero_point[CIPHERTEXT_LEN..].fill(0);
        assert_eq!(active().complete(&zero_point).err(), Some(invalid));
    }

    #[test]
    fn a_forged_ciphertext_gives_another_secret() {
        let active = X25519MLKEM768.start().unwrap();
        let (mut server_share, server_secret) = serve(active.pub_key(), [7; 32]);
        server_share[0] ^= 1;
        let secret = active.complete(&server_share).unwrap();
        assert_ne!(&secret.secret_bytes()[..32], &server_secret[..32]);
        assert_eq!(&secret.secret_bytes()[32..], &server_secret[32..]);
    }

    #[test]
    fn only_tls13_uses_it() {
        assert!(X25519MLKEM768.usable_for_version(ProtocolVersion::TLSv1_3));
        assert!(!X25519MLKEM768.usable_for_version(ProtocolVersion::TLSv1_2));
    }
}
