//! Feeds arbitrary text to `csv.parse` (std.csv) with two delimiters, writes the records back
//! with `csv.format_row` and parses them again (the same records must come back), and reads it
//! as typed rows (only N2509 or N2510 may be raised). The same check runs on a budget in
//! `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::path::Path;

const CHECK: &str = include_str!("../csv_check.noodle");

thread_local! {
    static RT: RefCell<Option<noodle::Runtime>> = const { RefCell::new(None) };
}

fuzz_target!(|text: &str| {
    RT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rt = slot.get_or_insert_with(|| {
            let c = noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/csv.noodle"), CHECK.to_string()).expect("the check compiles");
            let mut rt = noodle::Runtime::new(c.program, noodle::Output::silent()).expect("the check loads");
            rt.run().expect("the check's top level runs");
            rt
        });
        if let Err(e) = rt.call::<String>("check", (text.to_string(),)) {
            panic!("csv.parse, format_row or parse_rows failed: {}", e.render());
        }
    });
});
