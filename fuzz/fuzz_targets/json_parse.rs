//! Feeds arbitrary text to `json.parse` (std.json), and what it accepts through `json.encode`
//! and back: it must never panic, raise only N2501 or N2502, and encode a parsed value to the
//! same text twice. The same check runs on a budget in `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::path::Path;

const CHECK: &str = include_str!("../json_check.noodle");

thread_local! {
    static RT: RefCell<Option<noodle::Runtime>> = const { RefCell::new(None) };
}

fuzz_target!(|text: &str| {
    RT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rt = slot.get_or_insert_with(|| {
            let c = noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/json.noodle"), CHECK.to_string()).expect("the check compiles");
            let mut rt = noodle::Runtime::new(c.program, noodle::Output::silent()).expect("the check loads");
            rt.run().expect("the check's top level runs");
            rt
        });
        if let Err(e) = rt.call::<String>("check", (text.to_string(),)) {
            panic!("json.parse or json.encode failed: {}", e.render());
        }
    });
});
