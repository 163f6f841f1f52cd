//! Measurement: one cell's phases and client loop, the disk's ceilings, the
//! timeline of a measured phase, and the facts only the OS can give.

pub mod ceilings;
pub mod cell;
pub mod drive;
pub mod faults;
pub mod memory;
pub mod null;
pub mod probe;
pub mod schedule;
pub mod sys;
pub mod timeline;
