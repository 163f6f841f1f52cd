//! `bench-runner`: measures what durability costs on a disk.
fn main() {
    eprintln!("bench-runner: not yet implemented");
    std::process::exit(2);
}
