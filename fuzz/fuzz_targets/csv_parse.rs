//! Feeds arbitrary text to `csv.parse` (std.csv) with two delimiters, writes the records back
//! with `csv.format_row` and parses them again (the same records must come back), and reads it
//! as typed rows (only N2509 or N2510 may be raised). The same check runs on a budget in
//! `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

include!("noodle_check.rs");
noodle_check_target!("csv", "../csv_check.noodle");
