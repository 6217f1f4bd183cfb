//! The `privlink` binary: everything lives in the library; this only maps
//! the result to the process exit code.

fn main() {
    std::process::exit(privlink::cli::main());
}
