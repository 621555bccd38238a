//! Runs `examples/embed.rs` (which `cargo test` builds) and checks what it prints: a native
//! module registered from Rust, used by a Noodle program, and a typed call back from Rust.

#[test]
fn the_embedding_example_runs() {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/embed
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let bin = dir.join(format!("embed{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is not built (cargo test builds examples)", bin.display());
    let out = std::process::Command::new(&bin).output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Tally(16) 16 5.0\narea from Rust: 7.0\n");
}
