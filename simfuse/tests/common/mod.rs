//! Test support for simfuse's tests: the skips, from
//! `test-support/skip.rs` (shared by every crate's tests).

#[path = "../../../test-support/skip.rs"]
#[allow(dead_code)] // a test binary may need only one of its skips
mod skip;
#[allow(unused_imports)] // a test binary may need only one of them
pub use skip::{fuse_present, python3};
