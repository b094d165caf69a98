//! The fuzz input: a script of calls on the exported C ABI, with handles
//! that exist, that were freed and that never were, odd lengths, and server
//! bytes that are arbitrary, framed as a record, or a recorded server's
//! edited. After every session call the result is checked against what the
//! ABI promises; everything still held is freed at the end, so that a leak
//! shows.

use arbitrary::Arbitrary;

use pinned_fetch_engine::wire::{
    Cause, FailureCode, Flag, Groups, KeyFormat, PathVerdict, StepResult, Verdict,
};

use crate::engine;
use crate::host::{self, Behaviour, Random};
use crate::recorded;

#[derive(Arbitrary, Debug)]
pub enum Op {
    NewConfig {
        anchors: Anchors,
        groups: ConfigGroups,
    },
    FreeConfig(Handle),
    NewSession {
        config: Handle,
        params: SessionParams,
    },
    FreeSession(Handle),
    /// `pf_session_process` with nothing written: 0 starts the handshake, more claims bytes never written.
    /// Given 0, `pf_session_shrink` goes first, as the host calls it between requests.
    Process {
        session: Handle,
        received: u32,
    },
    Receive {
        session: Handle,
        bytes: ServerBytes,
        pieces: Vec<Piece>,
    },
    Write {
        session: Handle,
        data: Payload,
    },
    Close(Handle),
    Host(HostSettings),
    Alloc(AllocSize),
    Free(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Handle {
    /// One of the live handles, if any.
    Live(u8),
    /// One of the handles freed in this script and not given out again, if any.
    Freed(u8),
    /// Any number that is not a live handle.
    Other(u32),
}

#[derive(Arbitrary, Debug)]
pub enum Anchors {
    Fixture,
    Mozilla,
    EditedFixture(Vec<Edit>),
    Certificates(Vec<Vec<u8>>),
    Raw(Vec<u8>),
}

/// The `groups` of `pf_config_new`: a `Groups`, or any other number, which it refuses.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ConfigGroups {
    PostQuantumFirst,
    ClassicalOnly,
    Other(u32),
}

impl ConfigGroups {
    fn number(self) -> u32 {
        match self {
            ConfigGroups::PostQuantumFirst => Groups::PostQuantumFirst as u32,
            ConfigGroups::ClassicalOnly => Groups::ClassicalOnly as u32,
            ConfigGroups::Other(number) => number,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum SessionParams {
    /// The name and ALPN that the recorded server answers.
    Recorded,
    Named {
        name: String,
        alpn: Vec<Vec<u8>>,
    },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub enum ServerBytes {
    Raw(Vec<u8>),
    /// One record around `body`, so that it gets past the record layer.
    Record {
        content_type: ContentType,
        version: Option<u16>,
        body: Vec<u8>,
    },
    Recorded {
        recording: Recording,
        part: Part,
        edits: Vec<Edit>,
    },
    /// The recorded TLS 1.3 server's bytes with its encrypted handshake
    /// edited in the clear and cut into `fragments`, then the records of
    /// `after`, each sealed again: past an unedited handshake, they open.
    Tls13Clear {
        handshake: Vec<Edit>,
        fragments: Vec<u16>,
        after: Vec<After>,
    },
}

#[derive(Arbitrary, Debug)]
pub enum After {
    /// One of the records the server sent after the handshake, edited.
    Recorded { index: u8, edits: Vec<Edit> },
    New {
        content_type: ContentType,
        content: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
pub enum ContentType {
    ChangeCipherSpec,
    Alert,
    Handshake,
    ApplicationData,
    Other(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Recording {
    Tls13,
    Tls12,
    /// TLS 1.3 with a server that chose X25519MLKEM768: its ServerHello carries the hybrid share.
    Tls13Hybrid,
}

#[derive(Arbitrary, Debug)]
pub enum Part {
    All,
    Records { first: u8, count: u8 },
}

#[derive(Arbitrary, Debug)]
pub enum Edit {
    Flip { at: u16, mask: u8 },
    Insert { at: u16, bytes: Vec<u8> },
    Remove { at: u16, len: u8 },
    Truncate { len: u16 },
}

/// A piece of the received bytes: its length, and spare input room asked beyond it.
#[derive(Arbitrary, Debug)]
pub struct Piece {
    len: u16,
    spare: u8,
    claim_spare: bool,
}

#[derive(Arbitrary, Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// Long writes, split into several records.
    Repeated {
        byte: u8,
        len: u16,
    },
}

#[derive(Arbitrary, Debug)]
pub struct HostSettings {
    presented: Presented,
    path_accepted: bool,
    clock: Clock,
    random_fails: bool,
}

#[derive(Arbitrary, Debug)]
pub enum Presented {
    Continue,
    LeafTrusted,
    LeafNotValidNow,
    LeafMismatch,
    ContinueReportOnly,
    Other(u32),
}

#[derive(Arbitrary, Debug)]
pub enum Clock {
    Fixed,
    Ms(f64),
}

#[derive(Arbitrary, Debug)]
pub enum AllocSize {
    Bytes(u16),
    /// More than a layout can describe: `pf_alloc` must refuse it.
    Unrepresentable {
        largest: bool,
    },
}

pub fn run(ops: Vec<Op>) {
    host::reset();
    let mut harness = Harness::default();
    for op in ops {
        harness.apply(op);
    }
    harness.release_everything();
}

struct LiveSession {
    handle: u32,
    random: Random,
    /// The protocols offered, when the script encoded them well.
    alpn: Option<Vec<Vec<u8>>>,
    /// Whether its config offered X25519MLKEM768.
    hybrid_offered: bool,
    failed: bool,
}

#[derive(Default)]
struct Harness {
    configs: Vec<u32>,
    /// The live configs made with `Groups::ClassicalOnly`.
    classical_configs: Vec<u32>,
    freed_configs: Vec<u32>,
    sessions: Vec<LiveSession>,
    freed_sessions: Vec<u32>,
    allocations: Vec<(*mut u8, usize)>,
}

fn pick(live: &[u32], freed: &[u32], handle: Handle) -> Option<u32> {
    match handle {
        Handle::Live(index) => live.get(usize::from(index) % live.len().max(1)).copied(),
        Handle::Freed(index) => freed.get(usize::from(index) % freed.len().max(1)).copied(),
        Handle::Other(number) => (!live.contains(&number)).then_some(number),
    }
}

impl Harness {
    fn apply(&mut self, op: Op) {
        match op {
            Op::NewConfig { anchors, groups } => self.new_config(anchors, groups),
            Op::FreeConfig(handle) => {
                if let Some(config) = pick(&self.configs, &self.freed_configs, handle) {
                    unsafe { engine::pf_config_free(config) };
                    if let Some(index) = self.configs.iter().position(|live| *live == config) {
                        self.freed_configs.push(self.configs.swap_remove(index));
                    }
                }
            }
            Op::NewSession { config, params } => self.new_session(config, params),
            Op::FreeSession(handle) => {
                if let Some(session) = self.session(handle) {
                    unsafe { engine::pf_session_free(session) };
                    if let Some(index) =
                        self.sessions.iter().position(|live| live.handle == session)
                    {
                        self.sessions.swap_remove(index);
                        self.freed_sessions.push(session);
                    }
                }
            }
            Op::Process { session, received } => {
                if let Some(session) = self.session(session) {
                    if received == 0 {
                        unsafe { engine::pf_session_shrink(session) };
                    }
                    self.call(session, || unsafe {
                        engine::pf_session_process(session, received as usize)
                    });
                }
            }
            Op::Receive {
                session,
                bytes,
                pieces,
            } => {
                if let Some(session) = self.session(session) {
                    self.receive(session, &bytes.materialize(), pieces);
                }
            }
            Op::Write { session, data } => {
                if let Some(session) = self.session(session) {
                    let data = match data {
                        Payload::Bytes(bytes) => bytes,
                        Payload::Repeated { byte, len } => vec![byte; usize::from(len)],
                    };
                    self.call(session, || {
                        engine::staged(&data, |ptr, len| unsafe {
                            engine::pf_session_write(session, ptr, len)
                        })
                    });
                }
            }
            Op::Close(handle) => {
                if let Some(session) = self.session(handle) {
                    self.call(session, || unsafe { engine::pf_session_close(session) });
                }
            }
            Op::Host(settings) => host::set_behaviour(settings.behaviour()),
            Op::Alloc(size) => self.alloc(size),
            Op::Free(index) => {
                if !self.allocations.is_empty() {
                    let (ptr, len) = self
                        .allocations
                        .swap_remove(usize::from(index) % self.allocations.len());
                    unsafe { engine::pf_free(ptr, len) };
                }
            }
        }
    }

    fn session(&self, handle: Handle) -> Option<u32> {
        let live: Vec<u32> = self.sessions.iter().map(|session| session.handle).collect();
        pick(&live, &self.freed_sessions, handle)
    }

    fn new_config(&mut self, anchors: Anchors, groups: ConfigGroups) {
        let must_succeed = matches!(anchors, Anchors::Fixture | Anchors::Mozilla)
            && Groups::from_number(groups.number()).is_some();
        let presents_identity = matches!(anchors, Anchors::Fixture);
        let input = match anchors {
            Anchors::Fixture => engine::config_input(&[recorded::CA_DER]),
            Anchors::Mozilla => Vec::new(),
            Anchors::EditedFixture(edits) => {
                let mut der = recorded::CA_DER.to_vec();
                apply_edits(&mut der, &edits);
                engine::config_input(&[&der])
            }
            Anchors::Certificates(ders) => {
                engine::config_input(&ders.iter().map(Vec::as_slice).collect::<Vec<_>>())
            }
            Anchors::Raw(bytes) => bytes,
        };
        // A fixture config presents the fixture leaf as the client's identity,
        // whose handle is freed at once: the config keeps the key alive.
        let identity = if presents_identity {
            fixture_identity()
        } else {
            0
        };
        let config = host::as_session(0, &mut Random::session(), || {
            engine::staged(&input, |ptr, len| unsafe {
                engine::pf_config_new(ptr, len, identity, groups.number())
            })
        });
        unsafe { engine::pf_identity_free(identity) };
        assert!(
            config != 0 || !must_succeed,
            "the fixture CA or Mozilla's roots refused with known groups"
        );
        assert!(
            config == 0 || Groups::from_number(groups.number()).is_some(),
            "pf_config_new accepted groups {}",
            groups.number()
        );
        if config != 0 {
            assert!(
                !self.configs.contains(&config),
                "pf_config_new gave out live handle {config}"
            );
            self.configs.push(config);
            self.freed_configs.retain(|freed| *freed != config);
            self.classical_configs
                .retain(|classical| *classical != config);
            if matches!(groups, ConfigGroups::ClassicalOnly) {
                self.classical_configs.push(config);
            }
        }
    }

    fn new_session(&mut self, config: Handle, params: SessionParams) {
        let Some(config) = pick(&self.configs, &self.freed_configs, config) else {
            return;
        };
        let config_live = self.configs.contains(&config);
        let (input, alpn) = match params {
            SessionParams::Recorded => (
                recorded::session_params(),
                Some(vec![recorded::ALPN.to_vec()]),
            ),
            SessionParams::Named { name, alpn } => {
                let well_formed = name.len() <= usize::from(u16::MAX)
                    && alpn
                        .iter()
                        .all(|protocol| (1..=255).contains(&protocol.len()));
                (
                    engine::session_input(name.as_bytes(), &alpn),
                    well_formed.then_some(alpn),
                )
            }
            SessionParams::Raw(bytes) => (bytes, None),
        };
        let must_succeed =
            config_live && input == recorded::session_params() && !host::behaviour().random_fails;
        let mut random = Random::session();
        let session = host::as_session(0, &mut random, || {
            engine::staged(&input, |ptr, len| unsafe {
                engine::pf_session_new(config, ptr, len)
            })
        });
        assert!(
            session == 0 || config_live,
            "a session on config {config}, which is not live"
        );
        assert!(
            session != 0 || !must_succeed,
            "the recorded server's session refused"
        );
        if session != 0 {
            assert!(
                self.sessions.iter().all(|live| live.handle != session),
                "pf_session_new gave out live handle {session}"
            );
            host::forget_session(session);
            self.freed_sessions.retain(|freed| *freed != session);
            self.sessions.push(LiveSession {
                handle: session,
                random,
                alpn,
                hybrid_offered: !self.classical_configs.contains(&config),
                failed: false,
            });
        }
    }

    fn receive(&mut self, session: u32, data: &[u8], pieces: Vec<Piece>) {
        let mut rest = data;
        let whole = pieces.is_empty();
        for piece in pieces {
            let (now, later) = rest.split_at(usize::from(piece.len).min(rest.len()));
            rest = later;
            self.feed(session, now, usize::from(piece.spare), piece.claim_spare);
        }
        if whole || !rest.is_empty() {
            self.feed(session, rest, 0, false);
        }
    }

    fn feed(&mut self, session: u32, bytes: &[u8], spare: usize, claim_spare: bool) {
        let live = self.sessions.iter().any(|live| live.handle == session);
        self.call(session, || {
            match engine::receive(session, bytes, spare, claim_spare) {
                Some(flags) => flags,
                None => {
                    assert!(!live, "no input room for live session {session}");
                    unsafe { engine::pf_session_process(session, bytes.len()) }
                }
            }
        });
    }

    /// Makes a session call with the session's own randomness, then checks its result.
    fn call(&mut self, session: u32, call: impl FnOnce() -> u32) {
        let mut unknown = Random::session();
        let live = self.sessions.iter_mut().find(|live| live.handle == session);
        let random = match live {
            Some(live) => &mut live.random,
            None => &mut unknown,
        };
        let flags = host::as_session(session, random, call);
        let result = engine::result();
        let Some(live) = self.sessions.iter_mut().find(|live| live.handle == session) else {
            assert_eq!(
                (flags, result),
                (0, StepResult::EMPTY),
                "a call on session {session}, which is not live"
            );
            return;
        };
        check_result(live, flags, &result);
    }

    fn alloc(&mut self, size: AllocSize) {
        match size {
            AllocSize::Bytes(len) => {
                let len = usize::from(len);
                let ptr = unsafe { engine::pf_alloc(len) };
                assert!(!ptr.is_null(), "pf_alloc({len}) failed");
                // The ABI promises at least one byte, and `len` of them.
                unsafe { ptr.write_bytes(0xa5, len.max(1)) };
                self.allocations.push((ptr, len));
            }
            AllocSize::Unrepresentable { largest } => {
                let len = if largest {
                    usize::MAX
                } else {
                    isize::MAX as usize + 1
                };
                assert!(
                    unsafe { engine::pf_alloc(len) }.is_null(),
                    "pf_alloc({len}) did not refuse"
                );
            }
        }
    }

    fn release_everything(self) {
        unsafe {
            for session in &self.sessions {
                engine::pf_session_free(session.handle);
            }
            for config in &self.configs {
                engine::pf_config_free(*config);
            }
            for (ptr, len) in &self.allocations {
                engine::pf_free(*ptr, *len);
            }
        }
    }
}

/// The fixture leaf and its key as a client identity; 0 only if the host's randomness fails.
fn fixture_identity() -> u32 {
    let mut input = engine::identity_input(
        KeyFormat::Pkcs8,
        recorded::LEAF_KEY_PKCS8,
        &[recorded::LEAF_DER],
    );
    let identity = host::as_session(0, &mut Random::session(), || unsafe {
        engine::pf_identity_new(input.as_mut_ptr(), input.len())
    });
    let key = 8..8 + recorded::LEAF_KEY_PKCS8.len();
    assert!(
        input[key].iter().all(|byte| *byte == 0),
        "pf_identity_new left the key in its input"
    );
    assert!(
        identity != 0 || host::behaviour().random_fails,
        "the fixture identity was refused: {}",
        unsafe { engine::pf_identity_refusal() }
    );
    identity
}

/// What `pf_result` must say after a call on a live session.
fn check_result(session: &mut LiveSession, flags: u32, result: &StepResult) {
    let handle = session.handle;
    let failed = flags & Flag::Failed as u32 != 0;
    assert_eq!(
        result.flags, flags,
        "pf_result's flags differ from the returned ones"
    );
    let outgoing = host::read(result.output_ptr, result.output_len);
    let plaintext = host::read(result.plaintext_ptr, result.plaintext_len);
    let message = host::read(result.message_ptr, result.message_len);
    assert!(
        std::str::from_utf8(message).is_ok(),
        "the failure message is not UTF-8"
    );
    let (code, cause) = (result.failure_code, result.failure_cause);
    if failed {
        assert!(
            FailureCode::from_number(code).is_some() && !message.is_empty(),
            "failure code {code} with message {message:?}"
        );
        // A cause says why a chain or the handshake's signature is not trusted.
        assert!(
            Cause::from_number(cause).is_some()
                && (cause == Cause::Unspecified as u32 || code == FailureCode::Untrusted as u32),
            "failure cause {cause} with code {code}"
        );
    } else {
        assert_eq!(
            (code, cause, message.len()),
            (0, 0, 0),
            "a failure code, cause or message without the failed flag"
        );
    }
    if session.failed {
        assert!(failed, "session {handle} failed, then stopped saying so");
        assert!(
            outgoing.is_empty() && plaintext.is_empty(),
            "session {handle} failed, then still produced bytes"
        );
    }
    session.failed = failed;
    let version = result.protocol_version;
    assert!(
        matches!(version, 0 | 0x0303 | 0x0304),
        "protocol version {version:#x}"
    );
    let group = result.key_exchange;
    assert!(
        matches!(group, 0 | 0x001d | 0x0017 | 0x0018)
            || (group == 0x11ec && version == 0x0304 && session.hybrid_offered),
        "key exchange group {group:#x} over version {version:#x}, hybrid offered: {}",
        session.hybrid_offered
    );
    let alpn = host::read(result.alpn_ptr, result.alpn_len);
    if flags & Flag::HandshakeDone as u32 != 0 {
        assert!(
            version != 0,
            "a finished handshake without a protocol version"
        );
        // The point of the engine: no handshake completes unless the host accepted a certificate or path.
        assert!(
            host::accepted(handle),
            "session {handle} finished its handshake though the host accepted nothing"
        );
        // The host reads the ALPN once the handshake is done (after a failure, rustls may keep a refused one).
        if let (Some(offered), false, false) = (&session.alpn, alpn.is_empty(), failed) {
            assert!(
                offered.iter().any(|protocol| protocol == alpn),
                "ALPN {alpn:?} was not offered: {offered:?}"
            );
        }
    }
}

impl ServerBytes {
    fn materialize(self) -> Vec<u8> {
        match self {
            ServerBytes::Raw(bytes) => bytes,
            ServerBytes::Record {
                content_type,
                version,
                mut body,
            } => {
                body.truncate(usize::from(u16::MAX));
                let mut record = vec![content_type.byte()];
                record.extend_from_slice(&version.unwrap_or(0x0303).to_be_bytes());
                record.extend_from_slice(&(body.len() as u16).to_be_bytes());
                record.extend_from_slice(&body);
                record
            }
            ServerBytes::Recorded {
                recording,
                part,
                edits,
            } => {
                let stream = match recording {
                    Recording::Tls13 => recorded::TLS13,
                    Recording::Tls12 => recorded::TLS12,
                    Recording::Tls13Hybrid => recorded::TLS13_HYBRID,
                };
                let mut bytes = match part {
                    Part::All => stream.to_vec(),
                    Part::Records { first, count } => recorded::records(stream)
                        .iter()
                        .skip(usize::from(first))
                        .take(usize::from(count))
                        .flat_map(|record| record.iter().copied())
                        .collect(),
                };
                apply_edits(&mut bytes, &edits);
                bytes
            }
            ServerBytes::Tls13Clear {
                handshake: edits,
                fragments,
                after,
            } => {
                let clear = recorded::Tls13Clear::get();
                let records = recorded::records(recorded::TLS13);
                // ServerHello and the compatibility ChangeCipherSpec.
                let mut bytes = [records[0], records[1]].concat();
                let mut handshake = clear.handshake.clone();
                apply_edits(&mut handshake, &edits);
                let mut rest = handshake.as_slice();
                let mut seq = 0;
                for len in fragments {
                    let (fragment, later) = rest.split_at(usize::from(len).min(rest.len()));
                    bytes.extend(clear.handshake_key.seal(seq, 22, fragment));
                    rest = later;
                    seq += 1;
                }
                if seq == 0 || !rest.is_empty() {
                    bytes.extend(clear.handshake_key.seal(seq, 22, rest));
                }
                for (seq, record) in (0..).zip(after) {
                    let (content_type, content) = match record {
                        After::Recorded { index, edits } => {
                            let (content_type, content) =
                                &clear.after[usize::from(index) % clear.after.len()];
                            let mut content = content.clone();
                            apply_edits(&mut content, &edits);
                            (*content_type, content)
                        }
                        After::New {
                            content_type,
                            content,
                        } => (content_type.byte(), content),
                    };
                    bytes.extend(clear.application_key.seal(seq, content_type, &content));
                }
                bytes
            }
        }
    }
}

impl ContentType {
    fn byte(&self) -> u8 {
        match self {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
            ContentType::Other(byte) => *byte,
        }
    }
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let at = |at: u16| usize::from(at) % (bytes.len() + 1);
        match edit {
            Edit::Flip { at: position, mask } => {
                if !bytes.is_empty() {
                    let index = usize::from(*position) % bytes.len();
                    bytes[index] ^= mask;
                }
            }
            Edit::Insert {
                at: position,
                bytes: inserted,
            } => {
                let index = at(*position);
                bytes.splice(index..index, inserted.iter().copied());
            }
            Edit::Remove { at: position, len } => {
                let start = at(*position);
                let end = (start + usize::from(*len)).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Truncate { len } => bytes.truncate(usize::from(*len)),
        }
    }
}

impl HostSettings {
    fn behaviour(&self) -> Behaviour {
        Behaviour {
            presented_verdict: match self.presented {
                Presented::Continue => Verdict::Continue as u32,
                Presented::LeafTrusted => Verdict::LeafTrusted as u32,
                Presented::LeafNotValidNow => Verdict::LeafNotValidNow as u32,
                Presented::LeafMismatch => Verdict::LeafMismatch as u32,
                Presented::ContinueReportOnly => Verdict::ContinueReportOnly as u32,
                Presented::Other(verdict) => verdict,
            },
            path_verdict: if self.path_accepted {
                PathVerdict::Accepted as u32
            } else {
                PathVerdict::Rejected as u32
            },
            now_ms: match self.clock {
                Clock::Fixed => host::FIXED_NOW_MS,
                Clock::Ms(ms) => ms,
            },
            random_fails: self.random_fails,
        }
    }
}
