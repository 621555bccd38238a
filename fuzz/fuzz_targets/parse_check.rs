//! Feeds arbitrary UTF-8 to the whole front end (lexer, parser, checker, code generator and
//! verifier) through `noodle::compile_source`. It must never panic, and every program the
//! compiler produces must pass the verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|src: &str| {
    // A dummy path in a folder that does not exist: `import x` fails cleanly.
    match noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/fuzz.noodle"), src.to_string()) {
        Ok(c) => {
            let _ = c.warnings.render();
            let _ = noodle::disassemble(&c.program);
        }
        Err(noodle::Error::Load(e)) => panic!("the compiler produced a program the verifier rejects: {e}"),
        Err(e) => {
            // rendering must cope with every diagnostic's span
            let _ = e.render();
        }
    }
});
