//! Placeholder replaced once the workloads crate lands.
fn main() {}
