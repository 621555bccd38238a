//! The long explanations behind `noodle explain CODE`: one entry for every diagnostic, loader,
//! command-line and runtime error code that Noodle reports.

/// One error code and its long explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code, as printed in `error[CODE]`, e.g. `N0200`.
    pub code: &'static str,
    /// A short title (the meaning column of the table in `docs/spec/errors.md`).
    pub title: &'static str,
    /// Several lines of plain text: what the error means, an example and how to fix it.
    pub explanation: &'static str,
}

/// Looks up a code, ignoring case: `n0200` and `N0200` both find the entry for N0200.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let code = code.trim();
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// Every code, in numeric order.
pub static CODES: &[CodeInfo] = &[
    // ---------------------------------------------------------------- lexical and syntax errors
    CodeInfo {
        code: "N0001",
        title: "unexpected character",
        explanation: r#"The source contains a character that cannot start any token, such as `$`, a backtick,
a stray symbol, or a single quote. Strings in Noodle use double quotes only, and a lone `}`
inside an f-string must be doubled.

Wrong:

    let name = 'Ada'
    let price = $5

Right:

    let name = "Ada"
    let price = 5

Remove the character, or put it inside a string literal if it is meant to be text."#,
    },
    CodeInfo {
        code: "N0002",
        title: "unterminated string literal",
        explanation: r#"A string, bytes or f-string literal has no closing `"` before the end of the line.
Strings cannot span lines; write `\n` for a line break. A `\"` inside a string is an escaped
quote and does not close it, so a string that ends in a backslash needs `\\`.

Wrong:

    print("hello)
    let path = "C:\\dir\"

Right:

    print("hello")
    let path = "C:\\dir\\"

Add the missing closing quote, and escape backslashes and quotes that are part of the text."#,
    },
    CodeInfo {
        code: "N0003",
        title: "invalid number literal",
        explanation: r#"A number literal is malformed: letters follow the digits, a `0x` or `0b` prefix has no
valid digits after it, or an integer does not fit in 64 bits.

Wrong:

    let n = 12abc
    let mask = 0x
    let big = 123456789012345678901234567890

Right:

    let n = 12
    let mask = 0xff
    let big = 1.2345678901234568e29

Integers are 64-bit signed; use a float literal (with `.0` or an exponent) for larger values.
Underscores may separate digits: `1_000_000`."#,
    },
    CodeInfo {
        code: "N0004",
        title: "invalid escape sequence",
        explanation: r#"A backslash in a string, bytes or f-string literal is followed by something that is not
a valid escape. The valid escapes are \n \t \r \0 \\ \" \' \{ \} \xHH and \u{HHHH}.
In a str, `\xHH` must be below hex 80; bytes literals may only contain ASCII characters.

Wrong:

    let dir = "C:\data"
    let s = "tab\qhere"

Right:

    let dir = "C:\\data"
    let s = "tab\there"

Double the backslash when you mean a literal backslash."#,
    },
    CodeInfo {
        code: "N0010",
        title: "unexpected token",
        explanation: r#"The parser found a token where the grammar does not allow it: a missing `{` after an
`if` condition, two operators in a row, a keyword used as a name, a `let` without a name,
a chained comparison, or `pub` in front of something that is not a declaration.

Wrong:

    if x > 1 print(x)
    let b = a + * 3
    let ok = 0 < x < 10

Right:

    if x > 1 { print(x) }
    let b = a * 3
    let ok = 0 < x and x < 10

Look at the token under the caret and the line just before it. The parser recovers at the next
statement, so later errors may be consequences of the first one."#,
    },
    CodeInfo {
        code: "N0011",
        title: "unclosed delimiter",
        explanation: r#"A `(`, `[` or `{` was opened but the file ended before it was closed.

Wrong:

    def add(a: int, b: int) -> int {
        return a + b

    print(add(1, 2)

Right:

    def add(a: int, b: int) -> int {
        return a + b
    }

    print(add(1, 2))

Add the missing closing delimiter. The error points at the end of the file; the opening
delimiter that was never closed is usually the last block or call you edited."#,
    },
    CodeInfo {
        code: "N0012",
        title: "invalid assignment target",
        explanation: r#"The left side of `=` or a compound assignment (`+=`, ...) is not something that can be
assigned. Only variables, struct fields (`x.f`) and list or dict elements (`xs[i]`, `d[k]`)
can be assigned. Calls, literals, operators and `?.` chains cannot.

Wrong:

    f() = 3
    a + b = 10
    p?.x = 1.0

Right:

    var r = f()
    r = 3
    let total = a + b
    if p != none { p.x = 1.0 }

Assign to a variable instead, or check an optional value before setting its field."#,
    },
    // ---------------------------------------------------------------- names and modules
    CodeInfo {
        code: "N0013",
        title: "nested too deeply",
        explanation: r#"Expressions, blocks, patterns and types may nest at most 200 levels deep. Each operator
in a chain such as `1 + 2 + 3 + ...` counts as one level, as does each call, index or
field access applied to a value. The limit keeps the compiler's own stack bounded, so no
input file can crash it. Programs written by hand never come near it; generated code can.

Wrong:

    let total = 1 + 1 + 1 + 1 + ...  # hundreds of terms in one expression

Right:

    var total = 0
    for i in 0..500 {
        total += 1
    }

Split very long expressions into several statements with intermediate variables, or build
the value in a loop; split deeply nested blocks into functions."#,
    },
    CodeInfo {
        code: "N0100",
        title: "unknown name",
        explanation: r#"A name is used that is not defined in the current scope. Names are block scoped: a
variable declared inside a block, a loop variable or a `catch` variable is not visible after
that block ends, and locals of one function are not visible in another.

Wrong:

    let total = 10
    print(totl + 1)
    for x in 0..3 { let sq = x * x }
    print(sq)

Right:

    let total = 10
    print(total + 1)
    var sq = 0
    for x in 0..3 { sq = x * x }
    print(sq)

Check the spelling, declare the name in an enclosing scope, or import it from its module."#,
    },
    CodeInfo {
        code: "N0101",
        title: "duplicate definition",
        explanation: r#"The same name is declared twice where it must be unique: two top-level declarations of a
module (functions, structs, enums, interfaces, imports), two fields or methods of a struct,
a field and a method with the same name, two variants of an enum, or two parameters.

Wrong:

    def area(r: float) -> float { return 3.14 * r * r }
    def area(w: float, h: float) -> float { return w * h }

Right:

    def circle_area(r: float) -> float { return 3.14 * r * r }
    def rect_area(w: float, h: float) -> float { return w * h }

Noodle has no overloading: rename one of the definitions. (Local `let`/`var` bindings may be
shadowed by a new binding in an inner block; that is not an error.)"#,
    },
    CodeInfo {
        code: "N0102",
        title: "unknown type",
        explanation: r#"A type annotation names a type that does not exist. The built-in types are int, float,
bool, str, bytes, none, any, list[T], dict[K, V], set[T], tuples such as (int, str),
function types such as fn(int) -> str, and optionals T?. Other types are the structs, enums
and interfaces you declare or import.

Wrong:

    let n: integer = 5
    def greet(name: string) -> str { return "hi " + name }

Right:

    let n: int = 5
    def greet(name: str) -> str { return "hi " + name }

Fix the spelling, or import the module that declares the type (`from shapes import Circle`)."#,
    },
    CodeInfo {
        code: "N0103",
        title: "module not found",
        explanation: r#"An `import` or `from ... import` names a module whose file does not exist. `import util`
loads util.noodle from the folder of the importing file, and `import lib.util` loads
lib/util.noodle. Standard modules are std.math, std.string, std.time and std.io.

Wrong:

    import utils
    import std.maths

Right:

    import util
    import std.math

Check the file name and folder (paths are relative to the importing file, not to the current
directory), or correct the standard module name."#,
    },
    CodeInfo {
        code: "N0104",
        title: "name is not public",
        explanation: r#"A declaration of another module is used, but it is not marked `pub`. Only `pub def`,
`pub struct`, `pub enum`, `pub interface` and `pub let` items can be used from outside their
module.

Wrong (util.noodle, then main.noodle):

    def helper() -> int { return 42 }

    from util import helper

Right:

    pub def helper() -> int { return 42 }

    from util import helper

Mark the item `pub` in its own module, or use something that module does export."#,
    },
    CodeInfo {
        code: "N0105",
        title: "assignment to an immutable binding",
        explanation: r#"A name bound with `let` is assigned again. `let` bindings and function parameters are
immutable; only `var` bindings can change. This includes compound assignments such as `+=`,
assignments from inside functions to a top-level `let`, and closures assigning a captured `let`.

Wrong:

    let count = 0
    count += 1

Right:

    var count = 0
    count += 1

Declare the binding with `var`. To change a parameter, copy it first: `var s2 = s`, or
compute the new value into a fresh name."#,
    },
    CodeInfo {
        code: "N0106",
        title: "unknown field or method",
        explanation: r#"`x.name` or `x.name(...)` refers to a field or method that the type of `x` does not
have. This also covers unknown enum variants, tuple elements past the end (`t.2` on a pair),
unknown static methods, and items missing from a module.

Wrong:

    struct Point {
        x: float
        y: float
    }
    let p = Point(1.0, 2.0)
    print(p.z, [1, 2].size())

Right:

    print(p.x, [1, 2].len())

Check the spelling against the struct declaration or the list of methods in the reference
(`noodle check` suggests close names where it can)."#,
    },
    CodeInfo {
        code: "N0107",
        title: "import cycle",
        explanation: r#"Modules import each other in a cycle, directly or through other modules (a module may
not import itself either). A module's top-level statements run before the importing module's,
so a cycle has no valid order.

Wrong:

    import b    # in a.noodle
    import a    # in b.noodle

Right:

    import common    # in a.noodle
    import common    # in b.noodle; common.noodle holds what both need

Move the shared declarations into a third module that both import, or pass values as
function arguments instead of importing back."#,
    },
    // ---------------------------------------------------------------- types
    CodeInfo {
        code: "N0200",
        title: "type mismatch",
        explanation: r#"A value of one type is used where another type is required: in an annotated binding, a
function argument, a return value, a struct field, a list or dict element, an `if` condition
(which must be bool), or the branches of an `if` or `match` expression.

Wrong:

    let x: int = "five"
    var count = 0
    count = "none yet"
    def half(n: int) -> int { return n / 2 }

Right:

    let x: int = 5
    var count = 0
    count = 1
    def half(n: int) -> int { return n // 2 }

`/` always gives a float; use `//` for integer division. Convert explicitly with int(...),
float(...) or str(...) where a conversion is what you want."#,
    },
    CodeInfo {
        code: "N0201",
        title: "wrong number of arguments",
        explanation: r#"A function, method, closure or struct constructor is called with too many or too few
arguments. Parameters (and struct fields) with default values may be left out; all others are
required.

Wrong:

    def add(a: int, b: int) -> int { return a + b }
    print(add(1))
    print(add(1, 2, 3))

Right:

    print(add(1, 2))

Compare the call with the declaration. Enum variants with a payload must also be called with
their fields: `Shape.Circle(1.0)`, not `Shape.Circle`."#,
    },
    CodeInfo {
        code: "N0202",
        title: "bad named argument (unknown, repeated, or missing)",
        explanation: r#"A named argument (`name: value`) is wrong: no parameter has that name, the argument is
given twice (also by position), a positional argument follows a named one, a required
argument is missing from a call that uses names, or names are used where they are not
allowed (calls through a function value, built-in functions and methods).

Wrong:

    def scale(x: float, factor: float = 2.0) -> float { return x * factor }
    print(scale(3.0, factr: 10.0))
    print(scale(factor: 10.0, 3.0))

Right:

    print(scale(3.0, factor: 10.0))

Positional arguments come first, then named ones, each parameter at most once."#,
    },
    CodeInfo {
        code: "N0203",
        title: "operator not defined for these types",
        explanation: r#"An operator is applied to operand types it does not support, for example adding an int to
a str, subtracting strings or lists, adding dicts, bitwise operators on floats, negating a
str, or comparing values of unrelated types with `==` (they can never be equal).

Wrong:

    let age = 30
    print("age: " + age)
    print("abc" - "b")

Right:

    print("age: " + str(age))
    print(f"age: {age}")
    print("abc".replace("b", ""))

Convert one operand so both have compatible types, or use a method that does what you mean."#,
    },
    CodeInfo {
        code: "N0204",
        title: "optional value used without a check",
        explanation: r#"A value of type `T?` (it may be none) is used where a plain `T` is needed: in arithmetic,
as an argument, by reading a field, calling a method, indexing or iterating. Dict `get(k)`,
`find`, `index_of`, `first` and `last` return optionals.

Wrong:

    let i = "abc".find("b")
    print(i + 1)

Right:

    let i = "abc".find("b")
    if i != none {
        print(i + 1)
    }
    print((i ?? 0) + 1)

Check with `if x != none { ... }` (or `if x == none { return }` before the use), supply a
default with `??`, or assert with `x!` when you know it cannot be none."#,
    },
    CodeInfo {
        code: "N0205",
        title: "missing return",
        explanation: r#"A function declared with a return type `-> T` can reach the end of its body without
returning a value: an `if` without an `else`, a `return` only inside a loop, or an empty
body. Closures with a return type are checked the same way.

Wrong:

    def sign(n: int) -> int {
        if n > 0 { return 1 }
    }

Right:

    def sign(n: int) -> int {
        if n > 0 { return 1 }
        return 0
    }

Make sure every path ends in `return value` (or `throw`), for example with a final return."#,
    },
    CodeInfo {
        code: "N0206",
        title: "value is not callable",
        explanation: r#"A call `x(...)` is applied to a value that is not a function: an int, a string, a list
element that is not a function, a module constant, and so on. A local variable with the same
name as a function hides the function.

Wrong:

    let total = 10
    print(total())
    "hello"()

Right:

    print(total)
    print("hello")

Remove the parentheses, or rename the variable that hides the function you meant to call."#,
    },
    CodeInfo {
        code: "N0207",
        title: "value cannot be indexed",
        explanation: r#"`x[i]` or `x[a:b]` is used on a type that does not support it. Lists, strings and bytes
can be indexed and sliced, dicts can be indexed by key; ints, floats, bools and structs cannot.
Tuples use `.0`, `.1`, ... instead of `[0]`, and only lists and dicts can be assigned by index.

Wrong:

    let n = 1234
    print(n[0])
    let pair = (1, "one")
    print(pair[1])

Right:

    print(str(n)[0])
    print(pair.1)

Convert the value to an indexable type first, or use the field or method you meant."#,
    },
    CodeInfo {
        code: "N0208",
        title: "type cannot be inferred",
        explanation: r#"The compiler cannot work out a type from the code: an empty list, dict or `set()` whose
element type is never fixed, a lambda parameter without a type and without a context that
gives one, a parameter without a type, a generic function whose type parameter appears only
in its return type, or a generic function used as a value.

Wrong:

    let xs = []
    let f = fn (x) => x * 2

Right:

    let xs: list[int] = []
    let f = fn (x: int) => x * 2

Add a type annotation to the binding or the parameter."#,
    },
    CodeInfo {
        code: "N0209",
        title: "struct does not satisfy interface",
        explanation: r#"A struct is used where an interface is expected, but it lacks one of the interface's methods
or has one with other parameter or return types. Interfaces are structural: a struct
satisfies one when it has every method with exactly the same signature.

Wrong:

    interface Shape {
        def area(self) -> float
        def name(self) -> str
    }
    struct Circle {
        r: float
        def area(self) -> float { return 3.14 * self.r * self.r }
    }
    let s: Shape = Circle(1.0)

Right: add the method that the message names to Circle:

        def name(self) -> str { return "circle" }"#,
    },
    CodeInfo {
        code: "N0210",
        title: "`break` or `continue` outside a loop",
        explanation: r#"`break` and `continue` may only appear inside a `while` or `for` loop of the same function.
A loop around a function or closure does not count for a `break` inside it.

Wrong:

    let n = 3
    if n > 2 {
        break
    }

Right:

    for x in [1, 2, 3] {
        if x > 2 { break }
        print(x)
    }

Put the statement inside the loop it should leave, or use `return` to leave a function or
closure early."#,
    },
    CodeInfo {
        code: "N0211",
        title: "`return` outside a function",
        explanation: r#"`return` is used in top-level code (also inside a top-level loop or `try`). Top-level
statements are not a function, so there is nothing to return from.

Wrong:

    let xs = [3, 1]
    if len(xs) == 0 { return }
    print(xs[0])

Right:

    def main() {
        let xs = [3, 1]
        if len(xs) == 0 { return }
        print(xs[0])
    }
    main()

Move the code into a function, or restructure it with `if` / `else` or `break`."#,
    },
    CodeInfo {
        code: "N0213",
        title: "value is not iterable",
        explanation: r#"A `for` loop iterates over a value that cannot be iterated. `for` works on lists, ranges,
strings (by code point), bytes, sets, dicts (their keys) and tensors (their rows); not on
ints, floats, bools or structs.

Wrong:

    for i in 10 {
        print(i)
    }

Right:

    for i in 0..10 {
        print(i)
    }

Use a range (`0..n`, `1..=n` or `range(n)`) to count, or iterate over the list held in a
field of a struct (`for item in cart.items`)."#,
    },
    CodeInfo {
        code: "N0214",
        title: "wrong number of type arguments",
        explanation: r#"A type is written with the wrong number of type arguments in square brackets. `list[T]`
and `set[T]` take one, `dict[K, V]` takes two, and int, float, str, other built-in scalar
types and non-generic structs take none.

Wrong:

    def count(xs: list) -> int { return len(xs) }
    let d: dict[str] = {}
    let n: int[str] = 0

Right:

    def count(xs: list[int]) -> int { return len(xs) }
    let d: dict[str, int] = {}
    let n: int = 0

Write the element type(s) in brackets, or remove brackets from types that take none."#,
    },
    CodeInfo {
        code: "N0215",
        title: "invalid `self` use",
        explanation: r#"`self` is used where it is not allowed. It exists only in methods: a `def` inside a struct or
enum whose first parameter is `self` (interface methods must take it). A method without `self`
is static, called as `Type.method(...)`; one with `self` needs a value: `value.method(...)`.

Wrong:

    struct Counter {
        n: int
        def zero() -> int { return self.n }
    }

Right:

    struct Counter {
        n: int
        def value(self) -> int { return self.n }
        def zero() -> Counter { return Counter(0) }
    }

Add `self` as the first parameter, or stop using it in static methods and plain functions."#,
    },
    CodeInfo {
        code: "N0216",
        title: "default value must be a literal or a constant name",
        explanation: r#"A parameter or struct field default is not a simple constant. Defaults may be literals
(numbers, strings, bytes, true, false, none, possibly negated numbers), tuples, an empty list
or dict, or the name of a constant; calls, arithmetic and non-empty lists are not allowed.

Wrong:

    def pad(s: str, width: int = 4 * 20) -> str { return s }
    def total(xs: list[int] = [1, 2]) -> int { return xs.sum() }

Right:

    let default_width = 80
    def pad(s: str, width: int = default_width) -> str { return s }
    def total(xs: list[int]? = none) -> int {
        return (xs ?? [1, 2]).sum()
    }

Name the value as a top-level constant, or make the parameter optional and compute the
default inside the function."#,
    },
    CodeInfo {
        code: "N0217",
        title: "function too large (more than 65535 registers)",
        explanation: r#"A single function (or the top-level code of a module) needs more than 65535 virtual
registers for its locals and temporary values. This happens only with extremely large
functions, usually generated code such as a list literal with tens of thousands of elements
or thousands of local bindings.

Wrong:

    def table() -> list[int] {
        return [0, 1, 4, 9, 16, 25]    # ... and 70000 more literal elements
    }

Right:

    def table() -> list[int] {
        var out: list[int] = []
        for i in 0..70006 { out.push(i * i) }
        return out
    }

Split the function into smaller ones, build large data with a loop, or read it from a file."#,
    },
    CodeInfo {
        code: "N0218",
        title: "`!` or `??` on a value that is never none",
        explanation: r#"This is a warning: the program still compiles. `x!` and `x ?? d` only make sense when `x`
is optional (`T?`), but here `x` has a type that can never be none, so the `!` does nothing
and the default after `??` is never used. It often means a check was already done, or the
value's type is not what you thought.

Wrong:

    let n = 5
    print(n!)
    print(n ?? 0)

Right:

    let n = 5
    print(n)

Remove the `!` or the `?? default`."#,
    },
    // ---------------------------------------------------------------- match and patterns
    CodeInfo {
        code: "N0219",
        title: "function too large for short branches (internal)",
        explanation: r#"Comparisons that decide a branch are compiled to fused compare-and-branch instructions
with 16-bit offsets. A function body of more than about 32,000 instructions can need a
longer jump; the compiler then reports N0219 internally and compiles the whole program
again without fused branches, so this code is never shown for a successful build.

If you see it, the recompilation failed for another reason reported next to it; fix that
error. Splitting a very large function into smaller ones also avoids the slower path:

Wrong:

    def everything() {
        # tens of thousands of statements
    }

Right:

    def part_one() { ... }
    def part_two() { ... }"#,
    },
    CodeInfo {
        code: "N0230",
        title: "tensor dtype not known at compile time",
        explanation: r#"A tensor's element type (`f32`, `f64`, `i64` or `bool`) is part of its static type, so
the `dtype` argument of `zeros`, `ones`, `full`, `eye`, `arange`, `linspace`, `rand`, `randn`,
`from_list` and `astype` must name the type directly. A dtype held in a variable cannot be
checked.

Wrong:

    let kind = "f32"
    let t = tensor.zeros([2, 2], dtype: kind)

Right:

    let t = tensor.zeros([2, 2], dtype: tensor.f32)
    let u = tensor.zeros([2, 2], dtype: "f32")

Write `tensor.f32`, `tensor.f64`, `tensor.i64` or `tensor.bool` (or the same names as string
literals)."#,
    },
    CodeInfo {
        code: "N0241",
        title: "`with` on a value without `exit`",
        explanation: r#"A `with` block calls `exit(true)` on its value when the block completes and `exit(false)`
when it is left by an error, `return`, `break` or `continue`. The value must have that method:
a database transaction (`conn.transaction()`), a cursor (`conn.cursor(...)`), or a struct or
enum that defines `def exit(self, completed: bool)`.

Wrong:

    with 42 as n {
        print(n)
    }

Right:

    with conn.transaction() as tx {
        tx.execute("UPDATE accounts SET balance = balance - 10 WHERE id = ?", [1])
    }"#,
    },
    CodeInfo {
        code: "N0242",
        title: "malformed actor declaration",
        explanation: r#"An actor's handlers take `self` and exactly one message, whose type picks the handler:
`on name(self, msg: Type) -> Reply`. `init` takes `self` first, and when an actor has
`init` every state field needs a default (the fields exist before `init` runs). `on_stop`
takes only `self`.

Wrong:

    actor Counter {
        count: int
        def init(self, start: int) { self.count = start }
        on add(self, a: int, b: int) { self.count += a + b }
    }

Right:

    actor Counter {
        count: int = 0
        def init(self, start: int) { self.count = start }
        on add(self, m: Add) { self.count += m.n }
    }"#,
    },
    CodeInfo {
        code: "N0243",
        title: "`spawn` of something that is not an actor, or an unknown spawn option",
        explanation: r#"`spawn` starts an actor declared with `actor`: `spawn Counter(0)`. Its options are named
and go in parentheses after `spawn`: `name`, `capacity`, `overflow`, `supervisor`, `restart`
and `link`.

Wrong:

    spawn print("hi")
    spawn(size: 10) Counter(0)

Right:

    spawn(capacity: 10, overflow: "fail") Counter(0)"#,
    },
    CodeInfo {
        code: "N0244",
        title: "unknown policy or strategy name",
        explanation: r#"A literal option has a fixed set of values. Overflow policies: "block", "fail",
"drop_oldest". Restart policies: "permanent", "transient", "temporary". Supervision
strategies: "one_for_one", "one_for_all", "rest_for_one".

Wrong:

    spawn(overflow: "drop") Worker()

Right:

    spawn(overflow: "drop_oldest") Worker()"#,
    },
    CodeInfo {
        code: "N0245",
        title: "`await` on something that is not a task",
        explanation: r#"`await` waits for a `task[T]` and gives its `T`. Tasks come from `ref.ask(message)`,
`actor.timer(seconds)`; `actor.gather(tasks)` waits for a list of them at once.

Wrong:

    let n = await 5

Right:

    let n = await counter.ask(Get())"#,
    },
    CodeInfo {
        code: "N0246",
        title: "the actor has no handler for this message",
        explanation: r#"`ref.send(m)` and `ref.ask(m)` are checked against the actor's handlers: one of them must
take a message of `m`'s type. The hint lists the types the actor handles.

Wrong:

    struct Reset {}
    counter.send(Reset())      # Counter has no `on ...(self, m: Reset)`

Right: add a handler `on reset(self, m: Reset) { ... }` to the actor, or send a message it
handles."#,
    },
    CodeInfo {
        code: "N0247",
        title: "an async function used as a value",
        explanation: r#"Calling an `async def` function starts a task and gives a `task[T]`. Taken as a value,
it would be an ordinary function, and calling that would run it without a task, so the
checker refuses it.

Wrong:

    async def fetch(id: int) -> str { ... }
    let f = fetch

Right: call it, or wrap the call in a lambda, which returns the task:

    let f = fn (id: int) => fetch(id)    # fn(int) -> task[str]"#,
    },
    CodeInfo {
        code: "N0300",
        title: "non-exhaustive match",
        explanation: r#"A `match` does not cover every possible value of its scrutinee: an enum variant, `true` or
`false`, `none`, or some int or str values are left out. Arms with a guard (`if cond`) do
not count. A pattern in `let` or `for` must also match every value.

Wrong:

    enum Shape {
        Circle(r: float)
        Square(side: float)
    }
    def area(s: Shape) -> float {
        return match s {
            Shape.Circle(r) => 3.14 * r * r
        }
    }

Right: add the missing arm (or a catch-all `_` arm) to the match:

            Shape.Square(a) => a * a"#,
    },
    CodeInfo {
        code: "N0301",
        title: "unreachable match arm",
        explanation: r#"An arm of a `match` can never be selected, because earlier arms already match every value
it matches: an arm after `_` or after a plain name pattern, or a repeated literal or variant.

Wrong:

    return match n {
        0 => "zero"
        _ => "other"
        1 => "one"
    }

Right:

    return match n {
        0 => "zero"
        1 => "one"
        _ => "other"
    }

Arms are tried in order: put specific arms before general ones, or remove the dead arm."#,
    },
    CodeInfo {
        code: "N0302",
        title: "pattern does not fit the matched type",
        explanation: r#"A pattern can never match a value of the scrutinee's type: a str literal against an int, a
tuple pattern with the wrong number of elements, a variant of another enum, a struct pattern
of another struct, or a variant with the wrong number of fields. Alternatives (`p | q`)
cannot bind names, and `let` and `for` only accept names, `_` and tuples.

Wrong:

    def f(n: int) -> str {
        return match n {
            "one" => "one"
            _ => "other"
        }
    }

Right: use a pattern of the matched type (the message shows it):

            1 => "one""#,
    },
    // ---------------------------------------------------------------- NBC loading
    CodeInfo {
        code: "N0500",
        title: "not an NBC file",
        explanation: r#"A file given as NBC bytecode does not start with the NBC magic number (the bytes "NBC" and
a zero byte). It is some other kind of file: a source file with the wrong extension, an empty
file, or a file from another program.

Wrong:

    cp hello.noodle hello.nbc
    noodle run hello.nbc

Right:

    noodle build hello.noodle
    noodle run hello.nbc

Run source files directly (`noodle run hello.noodle`), and produce .nbc files only with
`noodle build`."#,
    },
    CodeInfo {
        code: "N0501",
        title: "unsupported NBC format version",
        explanation: r#"The NBC file was written for a different version of the bytecode format than this
Noodle reads. Bytecode is not portable between format versions; `noodle version` shows the
format this build supports.

Wrong:

    noodle run app.nbc    # app.nbc was built by an older or newer Noodle

Right:

    noodle build app.noodle
    noodle run app.nbc

Rebuild the file from its source with the `noodle build` of the version you run it with.
Keep the .noodle sources: they, not the .nbc files, are the portable form of a program."#,
    },
    CodeInfo {
        code: "N0502",
        title: "NBC checksum mismatch",
        explanation: r#"The CRC-32 checksum stored in the NBC header does not match the contents of the file, so
the file was changed or damaged after it was written: a partial download or copy, a transfer
in text mode that rewrote line endings, or an edit by hand.

Wrong:

    noodle build app.noodle
    # app.nbc is then copied through a tool that changes its bytes
    noodle run app.nbc

Right:

    noodle build app.noodle
    noodle run app.nbc

Rebuild the file, or copy it again as binary data. Noodle refuses to run a damaged file."#,
    },
    CodeInfo {
        code: "N0503",
        title: "malformed NBC file",
        explanation: r#"The NBC file has a valid header and checksum but its contents cannot be decoded: it ends
in the middle of a section (truncated), a count is larger than the file, a string is not
valid UTF-8, a constant tag or opcode is unknown, a line table does not fit its function,
or bytes are left over after the last function.

Wrong:

    noodle run app.nbc    # app.nbc was written by a buggy or foreign tool

Right:

    noodle build app.noodle
    noodle run app.nbc

Files written by `noodle build` are always well formed: rebuild from source. If a freshly
built file fails to load, that is a bug in Noodle; please report it."#,
    },
    CodeInfo {
        code: "N0504",
        title: "NBC verification failed",
        explanation: r#"The NBC file was decoded, but the verifier found bytecode that would not be safe to run:
a register outside the function's register count, a jump outside the function's code, a
constant, function, global, type or native index out of range, or a bad entry function.
Noodle verifies every loaded file so that malformed bytecode cannot crash the VM.

Wrong:

    noodle run patched.nbc    # instructions were edited by hand

Right:

    noodle build app.noodle
    noodle run app.nbc

Rebuild the file from source with `noodle build`. If a file produced by `noodle build` fails
verification, that is a bug in the compiler; please report it."#,
    },
    // ---------------------------------------------------------------- command line
    CodeInfo {
        code: "N0900",
        title: "cannot read or write a file",
        explanation: r#"A file named on the command line could not be read: it does not exist, the path is
misspelled, it is a directory, you lack permission to read it, or (for a source file) it is
not valid UTF-8 text. The message includes the reason the operating system gave.

Wrong:

    noodle run hello.nodle

Right:

    noodle run hello.noodle

Check the path and spelling (relative paths start from the current directory), and that the
file is readable. Files opened by a running program through std.io report N2010 instead.

The same code reports output that could not be written: `noodle build`'s `.nbc` file (a full
disk, a folder without write permission), or standard output when it is a file that cannot
take more. Output piped into a command that stops reading early (`noodle disasm f | head`) is
not an error."#,
    },
    CodeInfo {
        code: "N0901",
        title: "program setup failed",
        explanation: r#"The program loaded, but it could not be prepared to run. The usual cause is an NBC file
that refers to a native (built-in) function that this Noodle does not have, because it was
built by a different version. An embedding host that asks to call a function the program
does not define also gets this error.

Wrong:

    noodle run app.nbc    # app.nbc was built by a newer Noodle with more natives

Right:

    noodle build app.noodle
    noodle run app.nbc

Rebuild the bytecode with the Noodle you run it with, or run the .noodle source directly.
When embedding, check the function name you ask for."#,
    },
    CodeInfo {
        code: "N0902",
        title: "command-line usage error",
        explanation: r#"The `noodle` command was called with an unknown subcommand, a missing file name, a
missing option value, or an unknown error code for `noodle explain`. Nothing was run. The
exit status is 2 for usage errors, 1 for errors in the program itself.

Wrong:

    noodle frobnicate app.noodle
    noodle build app.noodle -o

Right:

    noodle run app.noodle
    noodle build app.noodle -o app.nbc

Run `noodle help` for the list of commands and their arguments, and
`noodle explain --list` for every error code."#,
    },
    // ---------------------------------------------------------------- runtime errors
    CodeInfo {
        code: "N2001",
        title: "integer division or remainder by zero",
        explanation: r#"An integer `//` or `%` had zero as its right operand. (Float division `/` never fails:
it gives an infinity or NaN.) Like all runtime errors it can be caught with `try`/`catch`;
an uncaught one ends the program with exit status 1.

Wrong:

    def share(total: int, people: int) -> int {
        return total // people
    }
    print(share(10, 0))

Right:

    def share(total: int, people: int) -> int {
        if people == 0 { return 0 }
        return total // people
    }

Check the divisor before dividing, or decide what the result should be when it is zero."#,
    },
    CodeInfo {
        code: "N2002",
        title: "integer overflow",
        explanation: r#"An integer operation (`+ - * ** //  %` or negation) gave a result outside the 64-bit
signed range, -9223372036854775808 to 9223372036854775807. Noodle does not wrap silently.

Wrong:

    def fact(n: int) -> int {
        if n <= 1 { return 1 }
        return n * fact(n - 1)
    }
    print(fact(25))

Right:

    def fact(n: int) -> float {
        if n <= 1 { return 1.0 }
        return n * fact(n - 1)
    }
    print(fact(25))

Use float for values that can grow very large, or limit the input so results stay in range."#,
    },
    CodeInfo {
        code: "N2003",
        title: "index out of range",
        explanation: r#"A list, str or bytes was indexed with a position that does not exist. Valid indices run
from 0 to len - 1; negative indices count from the end, down to -len.

Wrong:

    let xs = [1, 2, 3]
    print(xs[3])
    let empty: list[int] = []
    print(empty[0])

Right:

    print(xs[2], xs[-1])
    if len(empty) > 0 { print(empty[0]) }
    print(empty.first() ?? 0)

Check the length first, loop with `for x in xs` instead of counting, or use `first()` and
`last()`, which return none for an empty list."#,
    },
    CodeInfo {
        code: "N2004",
        title: "key not found in a dict",
        explanation: r#"`d[k]` was read for a key `k` that the dict does not contain. Assigning `d[k] = v`
never fails; only reading a missing key does.

Wrong:

    let ages = {"ada": 36}
    print(ages["bob"])

Right:

    print(ages.get("bob", 0))
    if "bob" in ages { print(ages["bob"]) }
    let a = ages.get("bob")
    if a != none { print(a) }

Test membership with `in`, or use `get(k)` (an optional) or `get(k, default)`."#,
    },
    CodeInfo {
        code: "N2005",
        title: "`x!` on `none`",
        explanation: r#"The force-unwrap operator `x!` was applied to an optional that held none. `x!` asserts
that the value is present; when it is not, the program fails with this error.

Wrong:

    let pos = "abc".find("z")
    print(pos! + 1)

Right:

    let pos = "abc".find("z")
    if pos != none {
        print(pos + 1)
    } else {
        print("not found")
    }
    print((pos ?? -1) + 1)

Use `!` only when none is impossible; otherwise check with `if x != none` or use `??`."#,
    },
    CodeInfo {
        code: "N2006",
        title: "`x as T` on a value that is not a `T`",
        explanation: r#"A checked cast `x as T` found a value of a different run-time type. Casts are usually
applied to `any` values, which can hold anything.

Wrong:

    let v: any = "5"
    print((v as int) + 1)

Right:

    let v: any = "5"
    if v is int { print(v + 1) }
    if v is str { print(int(v) + 1) }

Test the type with `is` before casting (inside `if x is T`, `x` already has type `T`), or
use `type_of(x)` to see what the value really is."#,
    },
    CodeInfo {
        code: "N2007",
        title: "a failed conversion",
        explanation: r#"A conversion such as int(s) or float(s) was given text that is not a number of that
kind: letters, an empty string, or a float where an int is expected (int("3.5")).

Wrong:

    let n = int("12a")

Right:

    let s = "12a"
    try {
        print(int(s))
    } catch e {
        print("not a number:", s)
    }

Validate the text first (trim() it, check is_digit()), or catch the error and handle the bad
input."#,
    },
    CodeInfo {
        code: "N2008",
        title: "a failed `assert`",
        explanation: r#"`assert(cond)` or `assert(cond, message)` was called with a false condition. The
message, if given, is the error's message. An assert states something the program relies on,
so a failure means either the data or the program logic is not what you expected.

Wrong:

    let xs = [1, 2, 3]
    assert(len(xs) == 4, "xs should have 4 items")

Right:

    let xs = [1, 2, 3, 4]
    assert(len(xs) == 4, "xs should have 4 items")

Fix the code or data that broke the assumption. For errors that callers should handle, throw
an Error with your own code instead: throw Error("E_INPUT", "...")."#,
    },
    CodeInfo {
        code: "N2009",
        title: "call depth exceeded (stack overflow)",
        explanation: r#"Too many function calls were active at once. This is almost always recursion without a
working base case; very deep but finite recursion over large inputs can hit the limit too.

Wrong:

    def countdown(n: int) {
        print(n)
        countdown(n - 1)
    }
    countdown(3)

Right:

    def countdown(n: int) {
        if n < 0 { return }
        print(n)
        countdown(n - 1)
    }

Check that every recursive path reaches a base case, or rewrite deep recursion as a loop."#,
    },
    CodeInfo {
        code: "N2010",
        title: "an input/output error",
        explanation: r#"A std.io operation failed: a file to read does not exist or is not readable, a file to
write is in a missing folder or is not writable, or a read or write on standard input or output
failed. The message contains the path and the reason.

Wrong:

    import std.io
    print(io.read_file("config.txt"))

Right:

    import std.io
    let path = "config.txt"
    if io.file_exists(path) {
        print(io.read_file(path))
    }

Check the path first, or catch the error with try / catch e and report e.message."#,
    },
    CodeInfo {
        code: "N2011",
        title: "an invalid argument to a built-in",
        explanation: r#"A built-in function or method got an argument it cannot accept: pop() on an empty list,
a negative repeat count, an invalid f-string format spec, sorting or comparing values that
cannot be ordered (such as nan), or a call with the wrong number of arguments from a host.

Wrong:

    var stack: list[int] = []
    print(stack.pop())
    let width = 3
    print("-".repeat(width - 5))

Right:

    if len(stack) > 0 {
        print(stack.pop())
    }
    print("-".repeat(max(0, width - 5)))

Check the argument before the call; the message says which argument was wrong."#,
    },
    CodeInfo {
        code: "N2012",
        title: "a global variable was used before its definition ran",
        explanation: r#"A function read a top-level variable before the statement that defines it had run. Functions
are visible in the whole file, but a global only has a value once its `let` or `var` has run,
in order from the top. (The same code is used for a `match` in which no arm matched, which
cannot happen in a program the checker accepted.)

Wrong:

    def show() { print(limit) }
    show()
    let limit = 10

Right:

    def show() { print(limit) }
    let limit = 10
    show()

Move the definition of the global above the first statement that (directly or through a
call) uses it."#,
    },
    CodeInfo {
        code: "N2099",
        title: "invalid operand",
        explanation: r#"An instruction received a value of the wrong kind, for example an arithmetic operation on
a value that is not a number, or a method call on a value that has no such method. Checked
Noodle source never produces this: it means the bytecode was malformed in a way the loader's
verifier cannot see, usually a hand-edited or foreign-generated .nbc file.

Wrong:

    noodle run patched.nbc    # bytecode edited so an `add` gets a str and a list

Right:

    noodle build app.noodle
    noodle run app.nbc

Rebuild the program from source. If a program compiled by Noodle itself fails with N2099,
that is a bug in the compiler or VM; please report it with the source that triggers it."#,
    },
    CodeInfo {
        code: "N2101",
        title: "tensor shapes do not match",
        explanation: r#"Two tensors were combined whose shapes do not broadcast, or a shape did not fit: a
reshape to a different element count, nested lists of unequal lengths, a matrix product whose
inner dimensions differ, `item()` on more than one element. The message names both shapes.

Broadcasting aligns shapes from the right; each pair of dimensions must be equal or one of
them 1: (3, 4) and (4,) combine, (3, 4) and (5,) do not.

Wrong:

    let a = tensor.zeros([3, 4])
    print(a + tensor.ones([5]))      # cannot broadcast shapes (3, 4) and (5,)

Right:

    print(a + tensor.ones([4]))
    print(a + tensor.ones([3, 1]))

Check shapes with `t.shape`; use `reshape`, `unsqueeze` or `.T` to line them up."#,
    },
    CodeInfo {
        code: "N2102",
        title: "tensor index out of range",
        explanation: r#"A tensor subscript picked a position outside its axis, gave more indices than the tensor
has dimensions, or used a slice step of zero. Indices run from 0 to n - 1 and from -n to -1.

Wrong:

    let a = tensor.zeros([3, 4])
    print(a[3, 0])

Right:

    print(a[2, 0])
    print(a[-1, 0])"#,
    },
    CodeInfo {
        code: "N2103",
        title: "tensor axis out of range",
        explanation: r#"A reduction, `softmax`, `concat`, `stack`, `split`, `sort`, `squeeze`, `unsqueeze` or
`permute` named an axis the tensor does not have. A tensor with n dimensions has axes 0 to
n - 1 (or -n to -1 counting from the end).

Wrong:

    let a = tensor.zeros([3, 4])
    print(a.sum(axis: 2))

Right:

    print(a.sum(axis: 1))
    print(a.sum(axis: -1))"#,
    },
    CodeInfo {
        code: "N2104",
        title: "invalid tensor argument",
        explanation: r#"An argument of a tensor function was out of its domain: a negative dimension in a shape,
an empty range for `randint`, a zero `step` for `arange`, a negative `k` for `topk`, a
non-positive number of sections for `split`, or an unknown `ord` for `linalg.norm`.

Wrong:

    print(tensor.zeros([2, -1]))
    print(tensor.randint(5, 5, [3], seed: 1))

Right:

    print(tensor.zeros([2, 1]))
    print(tensor.randint(0, 5, [3], seed: 1))"#,
    },
    CodeInfo {
        code: "N2105",
        title: "linear algebra failure",
        explanation: r#"A `std.linalg` function could not produce a result for this matrix: `solve` and `inv` of
a singular matrix, `cholesky` of a matrix that is not symmetric positive definite.

Wrong:

    print(linalg.solve(tensor.ones([2, 2]), tensor.ones([2])))

Right:

    let a = tensor.from_list([[2.0, 1.0], [1.0, 3.0]])
    print(linalg.solve(a, tensor.ones([2])))

For a singular or non-square system, `linalg.lstsq` gives the least-squares solution."#,
    },
    CodeInfo {
        code: "N2201",
        title: "query rejected by the database",
        explanation: r#"The database refused the statement: a syntax error, an unknown table or column, a wrong
number of parameters, or a statement that cannot be run this way. The message is the
database's own, with its SQLSTATE when the backend reports one (PostgreSQL).

Wrong:

    conn.query("selec 1")

Right:

    conn.query("SELECT 1")

Parameters are always bound, never spliced into the SQL: write `?`, `$1` or `:name` and pass
the values as a list or a dict."#,
    },
    CodeInfo {
        code: "N2202",
        title: "constraint violation",
        explanation: r#"A statement broke a constraint of the schema: a unique or primary key, a foreign key, NOT
NULL or CHECK. The database changed nothing for that statement; inside a transaction, the
whole transaction is rolled back when its `with` block ends with the error.

Wrong:

    conn.execute("INSERT INTO users (email) VALUES (?)", ["ada@example.com"])
    conn.execute("INSERT INTO users (email) VALUES (?)", ["ada@example.com"])

Catch the error where a duplicate is expected:

    try {
        conn.execute("INSERT INTO users (email) VALUES (?)", [email])
    } catch e {
        if e.code == "N2202" { print("already registered") } else { throw e }
    }"#,
    },
    CodeInfo {
        code: "N2203",
        title: "cannot connect to the database",
        explanation: r#"`db.connect` could not open the database: the URL is malformed or has an unknown scheme,
the server refused the connection or the password, the database does not exist, or the file
cannot be opened. URLs look like `sqlite::memory:`, `sqlite://data/app.db`,
`postgres://user:password@localhost:5432/app`, `duckdb::memory:` or `duckdb://data/app.duckdb`.

DuckDB needs a build of Noodle with DuckDB support (see the database guide).

    let conn = db.connect("postgres://app:secret@localhost:5432/app", connect_timeout: 3.0)"#,
    },
    CodeInfo {
        code: "N2204",
        title: "database timeout",
        explanation: r#"A statement ran longer than the connection's `timeout`, a lock could not be taken in time, or
no pooled connection became free. `db.connect(url, timeout: 5.0)` sets the limit in seconds.

When every connection of the pool is held by this program's own open transactions or cursors
the error comes at once: run statements inside a transaction through its handle
(`tx.query(...)`, not `conn.query(...)`), finish the cursor first, or connect with a larger
`pool_size`."#,
    },
    CodeInfo {
        code: "N2205",
        title: "value does not map to or from the database",
        explanation: r#"A query parameter or a column value has no mapping between Noodle and the database.
Parameters may be `int`, `float`, `str`, `bytes`, `bool` or `none`; columns of other types
(arrays, intervals, ...) must be cast in SQL (`x::text`). A tensor holds numbers only: a text
column, or NULL in an integer tensor, cannot be converted.

Wrong:

    conn.execute("INSERT INTO t (tags) VALUES (?)", [["a", "b"]])

Right:

    conn.execute("INSERT INTO t (tags) VALUES (?)", ["a,b"])"#,
    },
    CodeInfo {
        code: "N2206",
        title: "transaction failure",
        explanation: r#"A transaction could not begin, commit or go on: the database aborted it (a serialization
failure or a deadlock, which a program may retry), the isolation level is not one the backend
has (SQLite runs every transaction serializable; DuckDB has snapshot isolation only), the
backend cannot nest transactions (DuckDB has no savepoints), or the transaction was used after
it ended.

    with conn.transaction(isolation: "serializable") as tx {
        tx.execute("UPDATE accounts SET balance = balance - 10 WHERE id = ?", [1])
    }"#,
    },
    CodeInfo {
        code: "N2207",
        title: "not exactly one row",
        explanation: r#"`query_one` and `query_value` expect the query to return exactly one row, and this one
returned none or several.

Use `query(...)` and `rows.first()` when the row may be missing:

    let row = conn.query("SELECT name FROM users WHERE id = ?", [id]).first()
    if row != none { print(row!.name) }"#,
    },
    CodeInfo {
        code: "N2208",
        title: "read-only database",
        explanation: r#"The statement tried to change a database opened with `read_only: true`, or a server that
refuses writes (a read-only transaction or a standby).

    let conn = db.connect("sqlite://data/app.db", read_only: true)
    conn.execute("DELETE FROM users")     # N2208

Open a second connection without `read_only` for the code that writes."#,
    },
    CodeInfo {
        code: "N2209",
        title: "no such column in a row",
        explanation: r#"A row was asked for a column its result does not have. The message lists the columns the
query returned. Column names are those of the SELECT list: give computed columns a name
with `AS`.

Wrong:

    let row = conn.query_one("SELECT count(*) FROM users")
    print(row.n)

Right:

    let row = conn.query_one("SELECT count(*) AS n FROM users")
    print(row.n)"#,
    },
    CodeInfo {
        code: "N2301",
        title: "this value cannot be sent to another actor",
        explanation: r#"Actors share nothing: a message is copied into the receiver's heap. Numbers, strings,
bytes, lists, dicts, sets, tuples, structs, enums and actor references can be copied, and
tensors are shared without copying their buffer. Functions, closures, database handles and
tasks belong to the actor that made them and cannot be sent; neither can a value that
contains itself.

Send the data the other actor needs instead (for a database, the URL to connect to)."#,
    },
    CodeInfo {
        code: "N2302",
        title: "the actor crashed while handling the request",
        explanation: r#"`await ref.ask(m)` raises N2302 when the handler failed with an uncaught error. The
actor's own log line on stderr says why:

    error[N2001] in actor Worker #2 ("w1"): division by zero
      at Worker.work (app.noodle:12)

Its `on_stop` ran and, under a supervisor, it may have been restarted as a new actor: find
it again with `Worker.lookup("w1")`."#,
    },
    CodeInfo {
        code: "N2303",
        title: "the actor is not running, or did not answer in time",
        explanation: r#"An `ask` did not get its answer:

- the actor had already stopped when the request arrived;
- the actor stopped (by `stop()`, its supervisor or a linked crash) before answering;
- the `timeout:` given to `ask` passed first.

A `send` to a stopped actor is dropped without an error (a moment later it would have been
anyway); an `ask` is not, because someone waits for it. Find a restarted actor by its
registered name: `Worker.lookup("w1")`."#,
    },
    CodeInfo {
        code: "N2304",
        title: "mailbox full",
        explanation: r#"The receiver's mailbox holds `capacity` messages and its overflow policy is "fail", so the
message was refused; or the policy is "drop_oldest" and an `ask` waiting in the mailbox was
dropped to make room.

With the default policy, "block", the sender waits for room instead, which slows a fast
producer down to the pace of its consumer. Choose "fail" or "drop_oldest" only where losing
or refusing a message is acceptable."#,
    },
    CodeInfo {
        code: "N2305",
        title: "actors need the runtime",
        explanation: r#"The program was run by a host without the actor scheduler, for example through the
embedding API's `start_with_budget`/`resume`, which run the main program alone with an
instruction budget. Actors, `ask`/`await`, timers and supervisors need the scheduler.

Run the program with `noodle run`, `noodle test`, or the embedding API's `Runtime::run` and
`Runtime::call`, which all use it."#,
    },
    CodeInfo {
        code: "N2306",
        title: "deadlock",
        explanation: r#"The main program waits for an answer that nothing can give: every actor is idle or waiting
itself, and no timer is pending. A common cause is two actors that ask each other while
handling a request (an actor handles one message at a time, so neither can answer). An actor
asking itself is reported at once.

Send instead of asking in one direction, or split the work so answers do not depend on each
other."#,
    },
    CodeInfo {
        code: "N2307",
        title: "task already awaited",
        explanation: r#"A task's result is delivered once: the first `await` takes it, and a second `await` of the
same task fails.

Wrong:

    let t = counter.ask(Get())
    print(await t)
    print(await t)

Right: keep the value (`let n = await t`) and use it as often as needed."#,
    },
    CodeInfo {
        code: "N2308",
        title: "a supervisor gave up",
        explanation: r#"A supervisor's children needed more than `max_restarts` restarts within `within` seconds,
so restarting them is not helping. The supervisor stopped the remaining children and failed.

A supervisor above it (`parent:`) restarts it with the same children. At the top, the
failure reaches the code that created the supervisor, which fails with N2309.

The crash log lines before it show why the children kept failing."#,
    },
    CodeInfo {
        code: "N2309",
        title: "a linked actor crashed",
        explanation: r#"Links make a crash spread: when one side crashes, the other stops too with this error.
A normal stop does not spread. Links come from `ref.link()`, from `spawn(link: true)`, and
from a top-level supervisor to the code that created it.

To be told about a crash without crashing, use `ref.monitor()` and handle the `Down`
message: `on down(self, d: Down) { ... }`."#,
    },
    CodeInfo {
        code: "N2310",
        title: "name already registered",
        explanation: r#"An actor name (`spawn(name: ...)` or `actor.register(name, ref)`) belongs to one running
actor at a time, so `A.lookup(name)` always finds at most one.

Wrong:

    spawn(name: "db") Writer()
    spawn(name: "db") Writer()

Choose another name, or stop the actor that has it first."#,
    },
    CodeInfo {
        code: "N2311",
        title: "the task was cancelled",
        explanation: r#"`t.cancel()` stops a task that has not finished: a task started by an `async def` call
or `spawn f(...)` stops at once (the tasks it started stop with it), a pending `ask` no
longer waits for its answer, and a timer or `send_every` stops. Waiting for a cancelled task
with `await`, `gather` or `select` raises N2311.

    let t = slow_job()
    t.cancel()
    await t                    # error[N2311]

Do not wait for a task you cancelled, or catch N2311 where cancelling is expected."#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            let b = c.code.as_bytes();
            assert_eq!(b.len(), 5, "{} is not N and 4 digits", c.code);
            assert_eq!(b[0], b'N', "{} does not start with N", c.code);
            assert!(b[1..].iter().all(u8::is_ascii_digit), "{} is not N and 4 digits", c.code);
            assert!(!c.title.is_empty(), "{} has no title", c.code);
        }
    }

    #[test]
    fn codes_are_sorted() {
        for w in CODES.windows(2) {
            assert!(w[0].code < w[1].code, "{} comes before {}", w[0].code, w[1].code);
        }
    }

    #[test]
    fn explanations_have_a_reasonable_shape() {
        for c in CODES {
            let lines: Vec<&str> = c.explanation.lines().collect();
            assert!((6..=20).contains(&lines.len()), "{}: {} lines", c.code, lines.len());
            for l in &lines {
                assert!(l.chars().count() < 100, "{}: line too long: {l}", c.code);
                assert_eq!(l.trim_end(), *l, "{}: trailing whitespace: {l:?}", c.code);
            }
            assert_eq!(c.explanation.trim(), c.explanation, "{}: surrounding whitespace", c.code);
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("N0200").unwrap().code, "N0200");
        assert_eq!(lookup("n0200").unwrap().code, "N0200");
        assert_eq!(lookup("n2012").unwrap().code, "N2012");
        assert_eq!(lookup(" N0001 ").unwrap().code, "N0001");
        assert!(lookup("N9999").is_none());
        assert!(lookup("").is_none());
        for c in CODES {
            assert_eq!(lookup(&c.code.to_lowercase()).unwrap().code, c.code);
        }
    }

    #[test]
    fn every_documented_code_is_listed() {
        let expected = [
            "N0001", "N0002", "N0003", "N0004", "N0010", "N0011", "N0012", "N0013", "N0100", "N0101", "N0102",
            "N0103", "N0104", "N0105", "N0106", "N0107", "N0200", "N0201", "N0202", "N0203", "N0204",
            "N0205", "N0206", "N0207", "N0208", "N0209", "N0210", "N0211", "N0213", "N0214", "N0215",
            "N0216", "N0217", "N0218", "N0219", "N0230", "N0241", "N0242", "N0243", "N0244", "N0245", "N0246", "N0247", "N0300", "N0301", "N0302", "N0500", "N0501", "N0502", "N0503",
            "N0504", "N0900", "N0901", "N0902", "N2001", "N2002", "N2003", "N2004", "N2005", "N2006", "N2007",
            "N2008", "N2009", "N2010", "N2011", "N2012", "N2099", "N2301", "N2302", "N2303", "N2304", "N2305", "N2306", "N2307", "N2308",
            "N2309", "N2310", "N2311", "N2101", "N2102", "N2103", "N2104", "N2105",
            "N2201", "N2202", "N2203", "N2204", "N2205", "N2206", "N2207", "N2208", "N2209",
        ];
        for code in expected {
            assert!(lookup(code).is_some(), "{code} is missing");
        }
        assert_eq!(CODES.len(), expected.len());
    }
}
