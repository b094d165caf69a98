//! The fuzz harness of the engine's exported C ABI (../../src/abi.rs), built
//! natively from the engine's own source: `host` stubs the host imports,
//! `engine` declares the ABI as the TypeScript host sees it, `recorded` holds
//! recorded handshakes for the fixture server, and `script` is what the fuzz
//! target (../fuzz_targets/engine_api.rs) runs.

pub mod engine;
pub mod host;
pub mod recorded;
pub mod script;
