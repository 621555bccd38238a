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

/// `x is net.Stream` tests a kind code made from the type's name (`handle_kind`): two handle
/// types of the standard library with the same code could not be told apart.
#[test]
fn the_standard_handle_types_have_distinct_kind_codes() {
    let registry = noodle::standard_registry();
    let mut seen: std::collections::HashMap<u16, String> = std::collections::HashMap::new();
    let mut count = 0;
    for m in registry.modules() {
        let prefix = m.name().rsplit('.').next().unwrap();
        for line in m.declarations().lines() {
            let line = line.trim_start();
            let Some(rest) = line.strip_prefix("pub type ").or_else(|| line.strip_prefix("type ")) else { continue };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let full = format!("{prefix}.{name}");
            let kind = noodle_nbc::op::handle_kind(&full);
            if let Some(other) = seen.insert(kind, full.clone()) {
                panic!("{full} and {other} share the kind code {kind:#x}");
            }
            count += 1;
        }
    }
    assert!(count > 20, "only {count} handle types found");
}
