// The body of the fuzz targets whose check is a Noodle program (`fuzz/NAME_check.noodle`,
// whose `check(text) -> str` raises on a failure): included by each such target, which names
// its check. Not a target itself. The same checks run on a budget through one harness in
// `crates/noodle/tests/fuzz_budget.rs`.

/// A fuzz target that runs the Noodle check `$file` (called `$name` in messages) on each input
/// given as text; the check is compiled and its top level run once per process.
macro_rules! noodle_check_target {
    ($name:literal, $file:literal) => {
        use libfuzzer_sys::fuzz_target;
        use std::cell::RefCell;
        use std::path::Path;

        thread_local! {
            static RT: RefCell<Option<noodle::Runtime>> = const { RefCell::new(None) };
        }

        fuzz_target!(|text: &str| {
            RT.with(|cell| {
                let mut slot = cell.borrow_mut();
                let rt = slot.get_or_insert_with(|| {
                    let path = concat!("/nonexistent-noodle-fuzz/", $name, ".noodle");
                    let c = noodle::compile_source(Path::new(path), include_str!($file).to_string()).expect("the check compiles");
                    let mut rt = noodle::Runtime::new(c.program, noodle::Output::silent()).expect("the check loads");
                    rt.run().expect("the check's top level runs");
                    rt
                });
                if let Err(e) = rt.call::<String>("check", (text.to_string(),)) {
                    panic!("the {} check failed: {}", $name, e.render());
                }
            });
        });
    };
}
