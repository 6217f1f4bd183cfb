//! Crash points: where a build with the `failpoints` feature can stop the
//! process dead, for the crash tests.
//!
//! The failpoints themselves are `fail::fail_point!` calls next to the code
//! they test (a state write, a create call's return, a poll); each ends the
//! process through [`crash_here`] when a test arms it.

/// Ends the process at once, as `kill -9` would: no destructor, flush or
/// state write runs. Reached only through the failpoints that the
/// `failpoints` build feature compiles in (the crash tests use them).
#[allow(dead_code)]
pub(crate) fn crash_here() -> ! {
    std::process::abort()
}
