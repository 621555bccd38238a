//! Feeds arbitrary text to `re.compile` (std.re) as a pattern, and searches a fixed text with
//! what compiles, every way the module offers: only N2511 may be raised, and nothing may hang
//! (matching is linear). The same check runs on a budget in `crates/noodle/tests/fuzz_budget.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::path::Path;

const CHECK: &str = include_str!("../re_check.noodle");

thread_local! {
    static RT: RefCell<Option<noodle::Runtime>> = const { RefCell::new(None) };
}

fuzz_target!(|text: &str| {
    RT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rt = slot.get_or_insert_with(|| {
            let c = noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/re.noodle"), CHECK.to_string()).expect("the check compiles");
            let mut rt = noodle::Runtime::new(c.program, noodle::Output::silent()).expect("the check loads");
            rt.run().expect("the check's top level runs");
            rt
        });
        if let Err(e) = rt.call::<String>("check", (text.to_string(),)) {
            panic!("std.re failed: {}", e.render());
        }
    });
});
