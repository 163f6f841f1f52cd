//! What every command leans on: the scratch folder a run owns on the disk,
//! signal handling, and what built the binary.

pub mod build_info;
pub mod scratch;
pub mod signals;
