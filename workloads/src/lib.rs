//! Workload specs, presets and deterministic key/value generators.
