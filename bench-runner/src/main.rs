//! `bench-runner`: see docs/guide.md and `bench-runner --help`.
fn main() -> std::process::ExitCode {
    bench_runner::main_with_args(std::env::args().collect())
}
