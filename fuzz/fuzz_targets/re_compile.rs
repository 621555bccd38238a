//! Feeds arbitrary text to `re.compile` (std.re) as a pattern, and searches a fixed text with
//! what compiles, every way the module offers: only N2511 may be raised, and nothing may hang
//! (matching is linear). The same check runs on a budget in `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

include!("noodle_check.rs");
noodle_check_target!("re", "../re_check.noodle");
