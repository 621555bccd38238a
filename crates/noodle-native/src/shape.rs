//! Type descriptions at run time, for natives that build values of a type the call names
//! (`json.decode[Config](text)`). A module asks for them with the rule [`DescribeTypes`]: the
//! native then gets, after its declared arguments, one string per type parameter, written by
//! the compiler in the grammar of `noodle_compiler`'s `shape` module, which [`TypeDesc::parse`]
//! reads back and checks against the program (a hand-made program may pass any string: a
//! malformed one is N2099, never a wrong value).

use noodle_compiler::types::Type;
use noodle_compiler::{CallRule, RuleCall};
use noodle_nbc::Program;
use noodle_vm::{Heap, Obj, Value, VmError};

/// The shape of a value of one type.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Int,
    Float,
    Str,
    Bool,
    Bytes,
    Any,
    None,
    Optional(Box<Shape>),
    List(Box<Shape>),
    Set(Box<Shape>),
    Dict(Box<Shape>, Box<Shape>),
    Tuple(Vec<Shape>),
    /// A struct: an index into [`TypeDesc::records`].
    Record(usize),
    /// An enum whose variants have no fields: their record types, in declaration order.
    Enum(Vec<u16>),
}

impl Shape {
    /// Whether a container of this shape is made as `list[any]` (`set[any]`, `dict[any,
    /// any]`): the program may store any value in it (see `Heap::set_dynamic`).
    pub fn is_dynamic(&self) -> bool {
        match self {
            Shape::List(e) | Shape::Set(e) => **e == Shape::Any,
            Shape::Dict(k, v) => **k == Shape::Any && **v == Shape::Any,
            _ => false,
        }
    }
}

/// A field's declared default, when it is a literal the native can use.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    EmptyList,
    EmptyDict,
    EmptySet,
    /// An enum variant without fields (its record type), as `Level.Info`.
    Variant(u16),
    /// The field's struct made from its own fields' defaults, as `Stats()`.
    Fresh,
    /// A default that is not a literal (a call, a constant's name, an enum variant): the
    /// native cannot make it, and says so when the field is missing.
    NotLiteral,
}

impl Literal {
    /// Whether the native can make this default (`TypeDesc::default_value`; a `Fresh` struct
    /// may still have a field it cannot make).
    pub fn usable(&self) -> bool {
        !matches!(self, Literal::NotLiteral)
    }

    /// A new value of the default (a fresh container for `[]`, `{}`, `set()`); not asked of
    /// `NotLiteral` or `Fresh` (see `TypeDesc::default_value`).
    fn value(&self, heap: &mut Heap, shape: &Shape) -> Value {
        let v = match self {
            Literal::None => return Value::None,
            Literal::Bool(b) => return Value::Bool(*b),
            Literal::Int(i) => return Value::Int(*i),
            Literal::Float(f) => return Value::Float(*f),
            Literal::Str(s) => return heap.alloc_str(s.clone()),
            Literal::EmptyList => heap.alloc(Obj::List(Default::default())),
            Literal::EmptyDict => heap.alloc(Obj::Dict(Default::default())),
            Literal::EmptySet => heap.alloc(Obj::Set(Default::default())),
            Literal::Variant(ty) => return heap.alloc(Obj::Record { ty: *ty, fields: Default::default() }),
            Literal::NotLiteral | Literal::Fresh => return Value::None,
        };
        if let (Value::Obj(r), true) = (v, shape.is_dynamic()) {
            heap.set_dynamic(r);
        }
        v
    }
}

/// A struct's record type and its fields (shape and default), in declaration order.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordShape {
    pub ty: u16,
    pub fields: Vec<(Shape, Option<Literal>)>,
}

/// A type as a native sees it: its shape and the structs it refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDesc {
    pub root: Shape,
    pub records: Vec<RecordShape>,
}

/// Reads the description the compiler wrote.
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    /// Digits up to a `.`.
    fn num(&mut self) -> Option<u64> {
        let start = self.i;
        while self.s.get(self.i)?.is_ascii_digit() {
            self.i += 1;
        }
        let n = std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok()?;
        (self.byte()? == b'.').then_some(n)
    }

    fn shape(&mut self, depth: usize) -> Option<Shape> {
        if depth > 200 {
            return None;
        }
        let d = depth + 1;
        Some(match self.byte()? {
            b'i' => Shape::Int,
            b'f' => Shape::Float,
            b's' => Shape::Str,
            b'b' => Shape::Bool,
            b'y' => Shape::Bytes,
            b'a' => Shape::Any,
            b'n' => Shape::None,
            b'?' => Shape::Optional(Box::new(self.shape(d)?)),
            b'l' => Shape::List(Box::new(self.shape(d)?)),
            b'e' => Shape::Set(Box::new(self.shape(d)?)),
            b'd' => Shape::Dict(Box::new(self.shape(d)?), Box::new(self.shape(d)?)),
            b't' => {
                let n = self.num()? as usize;
                let mut items = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    items.push(self.shape(d)?);
                }
                Shape::Tuple(items)
            }
            b'r' => Shape::Record(self.num()? as usize),
            b'u' => {
                let n = self.num()? as usize;
                let mut vs = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    vs.push(u16::try_from(self.num()?).ok()?);
                }
                Shape::Enum(vs)
            }
            _ => return None,
        })
    }

    fn literal(&mut self) -> Option<Literal> {
        Some(match self.byte()? {
            b'n' => Literal::None,
            b'T' => Literal::Bool(true),
            b'F' => Literal::Bool(false),
            b'i' => {
                let neg = self.s.get(self.i) == Some(&b'-');
                self.i += neg as usize;
                let n = self.num()?;
                Literal::Int(if neg { 0i64.checked_sub_unsigned(n)? } else { i64::try_from(n).ok()? })
            }
            b'f' => Literal::Float(f64::from_bits(self.num()?)),
            b's' => {
                let n = self.num()? as usize;
                let text = std::str::from_utf8(self.s.get(self.i..self.i.checked_add(n)?)?).ok()?.to_string();
                self.i += n;
                Literal::Str(text)
            }
            b'l' => Literal::EmptyList,
            b'd' => Literal::EmptyDict,
            b'e' => Literal::EmptySet,
            b'v' => Literal::Variant(u16::try_from(self.num()?).ok()?),
            b'x' => Literal::NotLiteral,
            b'R' => Literal::Fresh,
            _ => return None,
        })
    }

    fn record(&mut self) -> Option<RecordShape> {
        let ty = u16::try_from(self.num()?).ok()?;
        let n = self.num()? as usize;
        let mut fields = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            let s = self.shape(0)?;
            let lit = if self.s.get(self.i) == Some(&b'=') {
                self.i += 1;
                Some(self.literal()?)
            } else {
                None
            };
            fields.push((s, lit));
        }
        Some(RecordShape { ty, fields })
    }
}

impl TypeDesc {
    /// A new value of a field's default `lit` of shape `shape`, or `None` when the native cannot
    /// make it: not a literal, or a fresh struct with a field that has no default it can make
    /// (an optional field without one is `none`).
    pub fn default_value(&self, heap: &mut Heap, lit: &Literal, shape: &Shape) -> Option<Value> {
        self.default_at(heap, lit, shape, 0)
    }

    fn default_at(&self, heap: &mut Heap, lit: &Literal, shape: &Shape, depth: usize) -> Option<Value> {
        match lit {
            Literal::NotLiteral => None,
            Literal::Fresh => {
                let k = match shape {
                    Shape::Record(k) => *k,
                    Shape::Optional(x) => match &**x {
                        Shape::Record(k) => *k,
                        _ => return None,
                    },
                    _ => return None,
                };
                // the compiler refuses defaults that construct themselves; a made-up
                // description could still loop
                let rec = self.records.get(k).filter(|_| depth < 64)?;
                let mut fields = noodle_vm::value::Fields::new();
                for (fs, d) in &rec.fields {
                    fields.push(match d {
                        Some(d) => self.default_at(heap, d, fs, depth + 1)?,
                        None if matches!(fs, Shape::Optional(_) | Shape::None | Shape::Any) => Value::None,
                        None => return None,
                    });
                }
                Some(heap.alloc(Obj::Record { ty: rec.ty, fields }))
            }
            lit => Some(lit.value(heap, shape)),
        }
    }

    /// The description `text`, checked against `program`: every record is a struct of the
    /// program with that many fields, every enum's variants are variants without fields of
    /// one enum, every record reference is in the table (and no record is the runtime's own,
    /// with `$` fields). None when any of that fails.
    pub fn parse(text: &str, program: &Program) -> Option<TypeDesc> {
        let mut r = Reader { s: text.as_bytes(), i: 0 };
        let root = r.shape(0)?;
        let mut records = Vec::new();
        while r.i < r.s.len() {
            if r.byte()? != b';' {
                return None;
            }
            records.push(r.record()?);
        }
        let desc = TypeDesc { root, records };
        desc.valid(program).then_some(desc)
    }

    fn valid(&self, program: &Program) -> bool {
        fn shape_ok(s: &Shape, d: &TypeDesc, p: &Program) -> bool {
            match s {
                Shape::Optional(x) | Shape::List(x) | Shape::Set(x) => shape_ok(x, d, p),
                Shape::Dict(k, v) => shape_ok(k, d, p) && shape_ok(v, d, p),
                Shape::Tuple(xs) => xs.iter().all(|x| shape_ok(x, d, p)),
                Shape::Record(k) => *k < d.records.len(),
                Shape::Enum(vs) => {
                    let first = vs.first().and_then(|t| p.types.get(*t as usize));
                    first.is_some_and(|f| f.enum_name.is_some())
                        && vs.iter().all(|t| p.types.get(*t as usize).is_some_and(|r| r.fields.is_empty() && r.enum_id == first.map_or(u16::MAX, |f| f.enum_id)))
                }
                _ => true,
            }
        }
        shape_ok(&self.root, self, program)
            && self.records.iter().all(|r| {
                program.types.get(r.ty as usize).is_some_and(|t| t.enum_name.is_none() && t.fields.len() == r.fields.len() && !t.fields.iter().any(|f| f.starts_with('$')))
                    && r.fields.iter().all(|(s, _)| shape_ok(s, self, program))
                    && r.fields.iter().all(|(s, lit)| match lit {
                        // a variant default must be one of the field's enum's variants
                        Some(Literal::Variant(ty)) => match s {
                            Shape::Enum(vs) => vs.contains(ty),
                            Shape::Optional(x) => matches!(&**x, Shape::Enum(vs) if vs.contains(ty)),
                            _ => false,
                        },
                        // and a fresh struct, a struct field's
                        Some(Literal::Fresh) => matches!(s, Shape::Record(_)) || matches!(s, Shape::Optional(x) if matches!(&**x, Shape::Record(_))),
                        _ => true,
                    })
            })
    }

    /// The description in argument `i` of a native's `args` (N2099 when it is missing or
    /// malformed: only a hand-made program can pass one).
    pub fn arg(heap: &Heap, program: &Program, args: &[Value], i: usize, name: &str) -> Result<TypeDesc, VmError> {
        let text = args.get(i).and_then(|v| match v {
            Value::Obj(r) => match heap.get(*r) {
                Obj::Str(s) => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        });
        text.and_then(|t| TypeDesc::parse(t, program)).ok_or_else(|| crate::bad(name))
    }

    /// The type of `s` as a program writes it (`list[str]`, `Config`), for messages.
    pub fn show(&self, s: &Shape, program: &Program) -> String {
        match s {
            Shape::Int => "int".into(),
            Shape::Float => "float".into(),
            Shape::Str => "str".into(),
            Shape::Bool => "bool".into(),
            Shape::Bytes => "bytes".into(),
            Shape::Any => "any".into(),
            Shape::None => "none".into(),
            Shape::Optional(x) => format!("{}?", self.show(x, program)),
            Shape::List(x) => format!("list[{}]", self.show(x, program)),
            Shape::Set(x) => format!("set[{}]", self.show(x, program)),
            Shape::Dict(k, v) => format!("dict[{}, {}]", self.show(k, program), self.show(v, program)),
            Shape::Tuple(xs) => format!("({})", xs.iter().map(|x| self.show(x, program)).collect::<Vec<_>>().join(", ")),
            Shape::Record(k) => self.records.get(*k).and_then(|r| program.types.get(r.ty as usize)).map_or_else(|| "?".into(), |t| t.name.clone()),
            Shape::Enum(vs) => vs.first().and_then(|t| program.types.get(*t as usize)).and_then(|t| t.enum_name.clone()).unwrap_or_else(|| "?".into()),
        }
    }
}

/// The value of the variant named `name` of an enum whose variants have no fields (`variants`,
/// their record types, as `Shape::Enum` holds them): how data names one.
pub fn variant_named(heap: &mut Heap, program: &Program, variants: &[u16], name: &str) -> Option<Value> {
    let ty = *variants.iter().find(|ty| program.types.get(**ty as usize).is_some_and(|t| t.name == name))?;
    Some(heap.alloc(Obj::Record { ty, fields: Default::default() }))
}

/// The name of `obj` when it is an enum variant without fields: how data (CSV, a database,
/// JSON) writes one, and `variant_named` reads it back.
pub fn unit_variant_name<'p>(program: &'p Program, obj: &Obj) -> Option<&'p str> {
    match obj {
        Obj::Record { ty, fields } if fields.is_empty() => program.types.get(*ty as usize).filter(|t| t.enum_name.is_some()).map(|t| t.name.as_str()),
        _ => None,
    }
}

/// The rule of a native that gets a description of each of its type parameters (see the
/// module documentation): `Module::rule("decode", DescribeTypes)`.
pub struct DescribeTypes;

impl CallRule for DescribeTypes {
    fn check(&self, _call: &mut RuleCall) -> Option<Type> {
        None
    }
    fn describe_type_params(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noodle_nbc::RecordType;

    fn program() -> Program {
        let rec = |name: &str, fields: &[&str], enum_id: u16| RecordType {
            name: name.into(),
            enum_name: (enum_id != u16::MAX).then(|| "Level".to_string()),
            enum_id,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            methods: vec![],
            flags: 0,
        };
        let mut p = Program::default();
        p.types = vec![rec("Error", &["code", "message", "cause", "$value"], u16::MAX), rec("Server", &["host", "port", "tags"], u16::MAX), rec("Low", &[], 0), rec("High", &[], 0)];
        p
    }

    #[test]
    fn reads_what_the_compiler_writes() {
        let p = program();
        let d = TypeDesc::parse("lr0.;1.3.s?i=i8080.ls=l", &p).expect("valid");
        assert_eq!(d.root, Shape::List(Box::new(Shape::Record(0))));
        assert_eq!(d.records[0].fields[1], (Shape::Optional(Box::new(Shape::Int)), Some(Literal::Int(8080))));
        assert_eq!(d.show(&d.root, &p), "list[Server]");
        let d = TypeDesc::parse("dst2.u2.2.3.f", &p).expect("valid");
        assert_eq!(d.show(&d.root, &p), "dict[str, (Level, float)]");
        let d = TypeDesc::parse("r0.;1.3.s=s3.a;bi=i-5.l?s", &p).expect("a string default holding `;`");
        assert_eq!(d.records[0].fields[0].1, Some(Literal::Str("a;b".into())));
    }

    #[test]
    fn refuses_what_does_not_fit_the_program() {
        let p = program();
        for bad in [
            "", "x", "l", "r0.", "r1.;1.3.sis", "r0.;1.2.si", "r0.;0.4.ssaa", "r0.;2.0.", "u1.1.", "u2.2.0.", "t2.i", "?", "r0.;1.3.s?i=q.ls",
            "r0.;1.3.s?i=s99.x.ls", "r0.;1.3.sis;", "i;", "r0.;1.3.s?i=i99999999999999999999.ls", "t99999999999999999999.",
        ] {
            assert!(TypeDesc::parse(bad, &p).is_none(), "{bad:?} should be refused");
        }
        let deep = "l".repeat(10_000) + "i";
        assert!(TypeDesc::parse(&deep, &p).is_none(), "nesting is limited");
    }

    #[test]
    fn never_panics_on_any_text() {
        let p = program();
        let alphabet = b"ifsbyan?ledtru0123456789.;=TFnlde-";
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize] as char);
            }
            let _ = TypeDesc::parse(&s, &p);
        }
    }
}
