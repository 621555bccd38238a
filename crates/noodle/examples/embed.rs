//! Embedding Noodle in a Rust program, with a native module of its own.
//!
//! The module `geo` is one `noodle::Module`: its declarations, written as Noodle source (a
//! function, a handle type with two methods, a constructor), and the Rust functions behind
//! them. The engine compiles a Noodle program that imports it, runs it, and then calls one of
//! the program's functions from Rust with typed arguments and a typed result.
//!
//!     cargo run -p noodle --example embed

use noodle::{arg, ret, Ctx, Engine, Flow, Module, NativeObject, Object, Output, Value};

/// What Noodle programs see of the module: its declarations (with `##` doc comments, so
/// `noodle doc` documents it too).
const GEO: &str = r#"
## Geometry helpers, in Rust.

## The distance between the points (`x1`, `y1`) and (`x2`, `y2`).
pub def distance(x1: float, y1: float, x2: float, y2: float) -> float

## A running total kept by Rust.
pub type Tally {
    ## Adds `n` to the total.
    def add(self, n: int)
    ## The total so far.
    def total(self) -> int
}

## A new tally that starts at `start`.
pub def tally(start: int = 0) -> Tally
"#;

/// The value behind a `geo.Tally`: a native object on Noodle's heap.
struct Tally(i64);

impl NativeObject for Tally {
    fn type_name(&self, _: &noodle::Program) -> String {
        "geo.Tally".into()
    }
    fn kind(&self) -> &'static str {
        "Tally"
    }
    fn fmt(&self, _: &noodle::Program, out: &mut String) {
        out.push_str(&format!("Tally({})", self.0));
    }
}

fn distance(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    let (x1, y1): (f64, f64) = (arg(ctx, args, 0)?, arg(ctx, args, 1)?);
    let (x2, y2): (f64, f64) = (arg(ctx, args, 2)?, arg(ctx, args, 3)?);
    ret(ctx, (x2 - x1).hypot(y2 - y1))
}

fn tally(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    let start: i64 = arg(ctx, args, 0)?;
    ret(ctx, Object(Tally(start)))
}

fn tally_add(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    let n: i64 = arg(ctx, args, 1)?;
    ctx.object_mut::<Tally>(args[0], "Tally.add")?.0 += n;
    Ok(Value::None)
}

fn tally_total(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    let total = ctx.object::<Tally>(args[0], "Tally.total")?.0;
    ret(ctx, total)
}

/// The program, as a user would write it.
const PROGRAM: &str = r#"
import geo

let t = geo.tally(10)
for x in [1, 2, 3] {
    t.add(x)
}
print(t, t.total(), geo.distance(0.0, 0.0, 3.0, 4.0))

def area(w: float, h: float) -> float {
    return w * h
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut engine = Engine::new();
    engine.add_module(
        Module::new("geo", GEO)
            .function("distance", distance)
            .function("tally", tally)
            .function("Tally.add", tally_add)
            .function("Tally.total", tally_total),
    )?;
    let compiled = engine.compile_source(std::path::Path::new("main.noodle"), PROGRAM.to_string())?;
    let mut rt = engine.runtime(compiled.program, Output::stdio())?;
    rt.run().map_err(|u| u.render())?;
    let area: f64 = rt.call("area", (2.0, 3.5))?;
    rt.flush()?;
    println!("area from Rust: {area:?}");
    Ok(())
}
