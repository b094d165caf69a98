//! The fuzz target: a script of calls on the engine's exported C ABI (see src/script.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinned_fetch_fuzz::{recorded, script};

fuzz_target!(
    init: recorded::check_replay(),
    |ops: Vec<script::Op>| script::run(ops)
);
