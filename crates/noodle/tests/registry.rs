//! The standard registry is sound: every module's declarations compile, every native a module
//! declares has a function behind it, and every function is declared. (The same check runs
//! when an embedder adds a module with `Engine::add_module`.)

#[test]
fn every_standard_module_implements_what_it_declares_and_nothing_else() {
    let registry = noodle::standard_registry();
    let mut problems = Vec::new();
    for m in registry.modules() {
        problems.extend(registry.check(m.name()));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_module_that_declares_a_native_it_lacks_is_refused() {
    let mut engine = noodle::Engine::new();
    let m = noodle::Module::new("demo.broken", "pub def twice(x: int) -> int\npub def half(x: int) -> int\n")
        .function("twice", |_, a| Ok(a[0]))
        .function("thrice", |_, a| Ok(a[0]));
    let err = engine.add_module(m).unwrap_err().to_string();
    assert!(err.contains("declares native `broken.half` but provides no function for it"), "{err}");
    assert!(err.contains("provides a function for `broken.thrice`, which its declarations do not declare"), "{err}");
    assert!(engine.registry().get("demo.broken").is_none());
}

#[test]
fn a_module_whose_declarations_do_not_compile_is_refused() {
    let mut engine = noodle::Engine::new();
    let m = noodle::Module::new("demo.bad", "pub def f(x: nosuchtype) -> int\n").function("f", |_, a| Ok(a[0]));
    let err = engine.add_module(m).unwrap_err().to_string();
    assert!(err.contains("unknown type `nosuchtype`"), "{err}");
    assert!(err.contains("<demo.bad>"), "{err}");
}

#[test]
fn a_module_name_is_checked() {
    let mut r = noodle::Registry::new();
    assert!(r.add(noodle::Module::new("has space", "")).is_err());
    assert!(r.add(noodle::Module::new("a..b", "")).is_err());
    r.add(noodle::Module::new("ok.name", "")).unwrap();
    assert!(r.add(noodle::Module::new("ok.name", "")).is_err());
}
