//! `bench-runner list`: engines, policies, workload presets.

use crate::plan::DEFAULT_POLICIES;

/// Prints the lists on stdout.
pub fn print() {
    println!("engines (capabilities):");
    for e in engines::registry::all() {
        println!(
            "  {:<8} {:<28} {}",
            e.name,
            e.capabilities.describe(),
            e.summary
        );
    }
    println!("\nsync policies: MODE[+dir][@fsync] with MODE one of none, always, batch:N, group");
    println!("  default matrix: {}", DEFAULT_POLICIES.join(", "));
    println!("\nworkload presets (or a TOML file path):");
    for name in workloads::PRESETS {
        match workloads::preset(name) {
            Ok(spec) => println!("  {:<12} {}", name, spec.describe()),
            Err(_) => println!("  {name}"),
        }
    }
}
