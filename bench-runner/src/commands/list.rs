//! `bench-runner list`: engines, policies, workload presets.

use crate::cli::plan::DEFAULT_POLICIES;

/// Prints the lists on stdout.
pub fn print() -> std::io::Result<()> {
    outln!("engines (capabilities):")?;
    for e in engines::registry::all() {
        outln!(
            "  {:<8} {:<28} {}",
            e.name,
            e.capabilities.describe(),
            e.summary
        )?;
    }
    outln!("\nsync policies: MODE[+dir][@fsync] with MODE one of none, always, batch:N, group")?;
    outln!("  default matrix: {}", DEFAULT_POLICIES.join(", "))?;
    outln!("\nworkload presets (or a TOML file path):")?;
    for name in workloads::PRESETS {
        match workloads::preset(name) {
            Ok(spec) => outln!("  {:<12} {}", name, spec.describe())?,
            Err(_) => outln!("  {name}")?,
        }
    }
    Ok(())
}
