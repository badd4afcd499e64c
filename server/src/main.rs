//! The `warren` binary: the server, plus the offline tools and benchmarks as subcommands.
fn main() {}
