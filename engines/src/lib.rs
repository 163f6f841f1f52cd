//! Storage engines for measuring what durability costs.
//!
//! Five engines (`wal`, `bitcask`, `loghash`, `lsm`, `btree`) write through
//! one storage seam ([`fs::Vfs`]) and sync through one policy
//! ([`SyncPolicy`], applied by [`syncer::Syncer`]), so the benchmark can count
//! every write and sync and the crash simulator can replace the disk.

pub mod bitcask;
pub mod btree;
pub mod combine;
pub mod deferred;
pub mod engine;
#[cfg(test)]
mod engine_recycling_tests;
mod error;
pub mod events;
pub mod fs;
pub mod hashlog;
pub mod logfile;
pub mod loghash;
pub mod lsm;
pub mod policy;
pub mod record;
pub mod recycle;
pub mod reference;
pub mod registry;
pub mod search;
pub mod syncer;
pub mod wal;
pub mod worker;

pub use engine::{Capabilities, Engine, EngineConfig, EngineStats, LoggedOp};
pub use error::{Error, Result};
pub use policy::{PolicyRefusal, SyncMode, SyncPolicy, SyncPrimitive};
pub use registry::{open, EngineInfo};
