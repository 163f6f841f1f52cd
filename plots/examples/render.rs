//! Draws the report of a results folder, or compares several:
//! `cargo run -p plots --example render -- OUT DIR [DIR ..]`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let out = args.next().ok_or("usage: render OUT DIR [DIR ..]")?;
    let dirs: Vec<PathBuf> = args.collect();
    let summary = match dirs.as_slice() {
        [] => return Err("usage: render OUT DIR [DIR ..]".into()),
        [one] => plots::render_report(one, &out, &plots::ReportOptions::default())?,
        many => plots::render_compare(many, &out, &plots::CompareOptions::default())?,
    };
    println!("{}", summary.html.display());
    for n in &summary.notes {
        eprintln!("note: {n}");
    }
    Ok(())
}
