//! Compile-time behaviour of `#[workflow]`: programs that must compile
//! (`tests/ui/pass`) and mistakes that must be refused with one clear error
//! on the user's own tokens (`tests/ui/fail`, with the expected `.stderr`).
//!
//! To refresh the snapshots after changing a message:
//! `TRYBUILD=overwrite cargo test --test ui`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
