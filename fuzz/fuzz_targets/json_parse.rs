//! Feeds arbitrary text to `json.parse` (std.json), and what it accepts through `json.encode`
//! and back: it must never panic, raise only N2501 or N2502, and encode a parsed value to the
//! same text twice. The same check runs on a budget in `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

include!("noodle_check.rs");
noodle_check_target!("json", "../json_check.noodle");
