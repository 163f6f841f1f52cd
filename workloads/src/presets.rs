//! Named presets: db_bench's fills, overwrite, readrandom and deleterandom,
//! a log append, and YCSB's core workloads A-F (with YCSB's proportions and
//! request distributions; YCSB's `zipfian` is its scrambled zipfian).

use crate::spec::{KeyDistribution, OperationMix, ScanLength, WorkloadSpec};
use crate::WorkloadError;

/// Every preset name.
pub const PRESETS: &[&str] = &[
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "deleterandom",
    "append",
    "ycsb-a",
    "ycsb-b",
    "ycsb-c",
    "ycsb-d",
    "ycsb-e",
    "ycsb-f",
];

const ZIPF: KeyDistribution = KeyDistribution::ScrambledZipfian { constant: 0.99 };

/// The preset called `name`.
pub fn preset(name: &str) -> Result<WorkloadSpec, WorkloadError> {
    let base = WorkloadSpec {
        name: name.to_string(),
        ..WorkloadSpec::default()
    };
    let fill = |ordered: bool| WorkloadSpec {
        record_count: 0,
        load: false,
        mix: OperationMix {
            insert: 1.0,
            ..OperationMix::default()
        },
        ordered_keys: ordered,
        ..base.clone()
    };
    let loaded = |mix: OperationMix, distribution: KeyDistribution| WorkloadSpec {
        mix,
        distribution,
        ..base.clone()
    };
    let m = OperationMix::default();
    let spec = match name {
        // Inserts of new keys in key order, no load phase.
        "fillseq" => fill(true),
        // Inserts of new keys in a scattered order, no load phase.
        "fillrandom" => fill(false),
        "overwrite" => loaded(OperationMix { update: 1.0, ..m }, KeyDistribution::Uniform),
        "readrandom" => loaded(OperationMix { read: 1.0, ..m }, KeyDistribution::Uniform),
        "deleterandom" => loaded(OperationMix { delete: 1.0, ..m }, KeyDistribution::Uniform),
        // Log appends: new ordered keys, for engines without reads.
        "append" => WorkloadSpec {
            mix: OperationMix { append: 1.0, ..m },
            ordered_keys: true,
            ..fill(true)
        },
        // YCSB core workloads; YCSB's "zipfian" request distribution is its
        // scrambled zipfian generator.
        "ycsb-a" => loaded(
            OperationMix {
                read: 0.5,
                update: 0.5,
                ..m
            },
            ZIPF,
        ),
        "ycsb-b" => loaded(
            OperationMix {
                read: 0.95,
                update: 0.05,
                ..m
            },
            ZIPF,
        ),
        "ycsb-c" => loaded(OperationMix { read: 1.0, ..m }, ZIPF),
        "ycsb-d" => loaded(
            OperationMix {
                read: 0.95,
                insert: 0.05,
                ..m
            },
            KeyDistribution::Latest { constant: 0.99 },
        ),
        "ycsb-e" => WorkloadSpec {
            scan_length: ScanLength { min: 1, max: 100 },
            ..loaded(
                OperationMix {
                    scan: 0.95,
                    insert: 0.05,
                    ..m
                },
                ZIPF,
            )
        },
        "ycsb-f" => loaded(
            OperationMix {
                read: 0.5,
                read_modify_write: 0.5,
                ..m
            },
            ZIPF,
        ),
        _ => {
            return Err(WorkloadError::UnknownPreset {
                name: name.to_string(),
                valid: PRESETS.join(", "),
            })
        }
    };
    Ok(spec)
}
