//! Results and reporting: measurements turned into rows, the results folder
//! and its files, the results store, the progress on stderr and the tables
//! on stdout.

pub mod folder;
pub mod progress;
pub mod reporter;
pub mod rows;
pub mod store;
pub mod table;

use std::io::Write;

/// Writes `text` to stdout, returning the error a closed stdout gives
/// (`println!` panics on it). Used through the crate's `outln!` macro.
pub fn write_stdout(text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(text)?;
    out.flush()
}
