//! The seam between the VM and native modules: what a native function receives (`Ctx`), what
//! it can do (return, raise, call back into Noodle, suspend: `Flow`), the one heap object kind
//! for values a module owns (`NativeObject`), and the table natives are resolved from
//! (`Natives`). The VM names no module here: tensors, database handles, actor references and
//! tasks are all native objects of the modules that define them (`noodle-std`,
//! `noodle-runtime`), reached through this trait.
//!
//! Modules themselves (their declarations, the registry the compiler and the VM share) are
//! described with `noodle-native`, which builds on these types.

use crate::error::VmError;
use crate::heap::Heap;
use crate::permissions::{Access, Permissions};
use crate::value::{Key, ObjRef, Value};
use noodle_nbc::Program;
use std::any::Any;
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// A native function: its arguments (a method's receiver first), and the context.
pub type NativeFn = fn(&mut Ctx, &[Value]) -> Result<Value, Flow>;

/// What a native can reach: the heap, the program (for type and function names), the standard
/// streams, the host (the scheduler, when there is one) and the process's globals.
pub struct Ctx<'a> {
    pub heap: &'a mut Heap,
    pub program: &'a Program,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub input: &'a mut dyn BufRead,
    /// The scheduler (None outside a runtime).
    pub host: Option<&'a mut (dyn Host + 'static)>,
    /// The process's globals (copied into actors it spawns).
    pub globals: &'a [Value],
    /// Where `call` leaves a request to call back into Noodle (the VM's own slot, made by
    /// the first call back).
    pub request: &'a mut Option<Box<CallRequest>>,
    /// What the program may touch outside itself (see `permit`).
    pub permissions: &'a Permissions,
    /// The program's command-line arguments (`std.os.args`): what follows the file in
    /// `noodle run FILE ARGS...`.
    pub args: &'a [String],
}

impl Ctx<'_> {
    /// Asks whether the program may make `access` (read a file, read the environment,
    /// connect to a server): every native that touches the outside world calls this first.
    /// N2013 when the run's sandbox denies it.
    pub fn permit(&self, access: Access) -> Result<(), VmError> {
        self.permissions.check(access)
    }

    /// Asks the VM to call the function value `callee` with `args` and hand its result to
    /// `then` (a native's first call) or to the continuation already running (`None`, from
    /// `Continuation::resume`). Return the `Flow` this gives from the native.
    pub fn call(&mut self, callee: Value, args: &[Value], then: Option<Box<dyn Continuation>>) -> Flow {
        if args.len() > CallArgs::MAX {
            return Flow::from(VmError::new(crate::codes::N2011, format!("a native can call back with at most {} arguments", CallArgs::MAX)));
        }
        let req = self.request.get_or_insert_with(Box::default);
        req.callee = callee;
        // one at a time: a call back has one or two arguments, and a copy of a slice is a call
        for (slot, a) in req.args.values.iter_mut().zip(args) {
            *slot = *a;
        }
        req.args.len = args.len() as u8;
        if then.is_some() || req.then.is_some() {
            req.then = then;
        }
        Flow::Call
    }

    /// Runs `f`, which may wait outside the runtime (a database, stdin), telling the host
    /// before and after so it can keep its other work going.
    pub fn blocking<T>(&mut self, f: impl FnOnce(&mut Ctx) -> T) -> T {
        if let Some(h) = self.host.as_deref_mut() {
            h.blocking(true);
        }
        let r = f(self);
        if let Some(h) = self.host.as_deref_mut() {
            h.blocking(false);
        }
        r
    }

    /// A native object of type `T` held by `v`, or N2099 (only hand-made bytecode passes
    /// another value where the checker wants a `T`).
    pub fn object<T: NativeObject>(&self, v: Value, what: &str) -> Result<&T, VmError> {
        self.heap.native::<T>(v).ok_or_else(|| VmError::bad_operand(what))
    }

    /// `object`, for changing it.
    pub fn object_mut<T: NativeObject>(&mut self, v: Value, what: &str) -> Result<&mut T, VmError> {
        self.heap.native_mut::<T>(v).ok_or_else(|| VmError::bad_operand(what))
    }

    /// Puts a native object on the heap.
    pub fn alloc_object(&mut self, obj: impl NativeObject) -> Value {
        self.heap.alloc(crate::value::Obj::Native(NativeBox::new(obj)))
    }
}

/// How a native ends other than by returning a value.
pub enum Flow {
    /// Raise a Noodle error (catchable with `try`). Boxed: errors are rare, and a small
    /// `Flow` keeps every native's result small.
    Raise(VmError),
    /// Call back into Noodle: the request was left by `Ctx::call`. Calls back run as ordinary
    /// frames (preemptible, with their own stack trace entries) and may be nested.
    Call,
    /// Wait for something only the host can provide (a reply, a timer, room in a mailbox):
    /// the process stops here and, when it runs again, the VM polls the wait until it gives
    /// the call's value.
    Suspend(Box<dyn Wait>),
}

impl From<VmError> for Flow {
    #[inline]
    fn from(e: VmError) -> Flow {
        Flow::Raise(e)
    }
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flow::Raise(e) => write!(f, "Raise({e:?})"),
            Flow::Call => write!(f, "Call"),
            Flow::Suspend(_) => write!(f, "Suspend"),
        }
    }
}

/// The arguments of a call back (at most `CallArgs::MAX`).
#[derive(Clone, Copy)]
pub struct CallArgs {
    values: [Value; CallArgs::MAX],
    len: u8,
}

impl CallArgs {
    pub const MAX: usize = 8;
    pub fn new() -> CallArgs {
        CallArgs { values: [Value::None; CallArgs::MAX], len: 0 }
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Value> {
        self.values[..self.len as usize].iter()
    }
}

impl Default for CallArgs {
    fn default() -> CallArgs {
        CallArgs::new()
    }
}

impl std::ops::Deref for CallArgs {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.values[..self.len as usize]
    }
}

/// A native's request to call a Noodle function.
pub struct CallRequest {
    pub callee: Value,
    pub args: CallArgs,
    pub then: Option<Box<dyn Continuation>>,
}

impl Default for CallRequest {
    fn default() -> CallRequest {
        CallRequest { callee: Value::None, args: CallArgs::new(), then: None }
    }
}

/// The rest of a native that called back into Noodle: it gets each call's result and either
/// finishes (`Ok(value)`) or calls again (`ctx.call(.., None)`), keeping its state here.
pub trait Continuation {
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Result<Value, Flow>;
    /// The fast path of a continuation that calls the function it called last time again,
    /// with as many arguments (`map` calls its function once per element): given `result`,
    /// write the next call's arguments into `args` and say true; or say false (changing
    /// nothing), and `resume` gets `result` instead. It cannot allocate on the heap.
    fn again(&mut self, _heap: &Heap, _result: Value, _args: &mut [Value]) -> bool {
        false
    }
    /// Every value the continuation holds (they stay alive while it waits).
    fn trace(&self, found: &mut dyn FnMut(Value));
}

/// Something a suspended native waits for. `poll` is called each time the process runs
/// again: `Ok(Some(v))` ends the native call with `v`, `Ok(None)` waits longer.
pub trait Wait {
    fn poll(&mut self, ctx: &mut Ctx) -> Result<Option<Value>, VmError>;
    /// Every value the wait holds.
    fn trace(&self, _found: &mut dyn FnMut(Value)) {}
}

/// Where a wait for a file descriptor stands (`Host::io_wait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoWait {
    /// The descriptor is ready (or was: the operation may still find it is not, and wait again).
    Ready,
    /// Not yet: suspend.
    Pending,
    /// The wait's timeout passed first.
    TimedOut,
    /// This host cannot wait for descriptors: block the thread instead.
    Block,
}

/// The scheduler, as the VM and the natives of one process see it. What a module needs beyond
/// this (the actor operations) it reaches by downcasting to the host type it knows
/// (`(host as &mut dyn Any).downcast_mut::<T>()`).
pub trait Host: Any + Send {
    /// The process's standard streams, asked for when it first calls a native.
    fn output(&mut self) -> crate::Output;
    /// A native is about to wait outside the runtime (`entering`), or is back.
    fn blocking(&mut self, entering: bool);
    /// The scheduler's clock: seconds since it started (virtual in deterministic mode, so
    /// timings replay exactly).
    fn now(&mut self) -> f64;
    /// Starts this process's sleep of `secs`, or checks on it: true once it is over. A native
    /// told false suspends, and asks again when the process next runs.
    fn sleep(&mut self, secs: f64) -> Result<bool, VmError>;
    /// Starts this process's wait until the Unix file descriptor `fd` is ready to read (or
    /// to write, `write`), or checks on the one in progress: `Pending` suspends the native,
    /// which asks again when the process next runs. `timeout` (seconds) bounds one wait. A
    /// host that cannot wait for descriptors says `Block`: the native then waits on its own
    /// thread (`poll(2)`), as it does outside a runtime.
    fn io_wait(&mut self, _fd: i32, _write: bool, _timeout: Option<f64>) -> Result<IoWait, VmError> {
        Ok(IoWait::Block)
    }
    /// Whether a wait started by `io_wait` is in progress (the process was woken by
    /// something else, or is asking again).
    fn io_waiting(&self) -> bool {
        false
    }
    /// Who is running, for logs: `main`, `Counter #3`, `task work #5`.
    fn describe(&self) -> String {
        "main".to_string()
    }
}

/// A heap object owned by a native module: a tensor view, a database connection, an actor
/// reference, later a socket or a Python object. The VM reaches it only through this trait:
/// printing, `len`, iteration, indexing, equality and hashing, the collector, and crossing to
/// another actor.
// `len` answers `len(x)`, which has no `is_empty` to go with it
#[allow(clippy::len_without_is_empty)]
pub trait NativeObject: Any {
    /// The type name `type_of` gives and errors show: `tensor[f32]`, `db.Row`.
    fn type_name(&self, program: &Program) -> String;
    /// A short name for the object's kind in messages about values of the wrong kind
    /// (`cannot order tensor and int`): `tensor`, `Row`, `actor`.
    fn kind(&self) -> &'static str;
    /// The text `print` and `str()` give (and the element text inside a collection).
    fn fmt(&self, program: &Program, out: &mut String);
    /// Bytes owned outside the heap slot, for pacing the collector.
    fn owned_bytes(&self) -> usize {
        0
    }
    /// Heap objects this one refers to, for the collector.
    fn trace(&self, _found: &mut dyn FnMut(ObjRef)) {}
    /// `len(x)`; None when the object has no length (only hand-made bytecode asks).
    fn len(&self) -> Option<Result<usize, VmError>> {
        None
    }
    /// `if x`: true unless the object says otherwise.
    fn truthy(&self) -> bool {
        true
    }
    /// `for v in x`: the values, made in `heap` (the object itself is not on the heap while
    /// this runs). None when the object cannot be iterated.
    fn iterate(&self, _heap: &mut Heap) -> Option<Result<Vec<Value>, VmError>> {
        None
    }
    /// `x[key]` (None when the object cannot be indexed).
    fn index(&self, _heap: &mut Heap, _key: Value) -> Option<Result<Value, VmError>> {
        None
    }
    /// `==` with another native object: None compares by identity.
    fn equals(&self, _other: &dyn NativeObject) -> Option<bool> {
        None
    }
    /// A dict key for objects equal by what they refer to, not by heap identity (an actor
    /// reference seen from two heaps): a kind name and an id.
    fn key(&self) -> Option<Key> {
        None
    }
    /// `x is T` for the kind codes `KIND_ACTOR..` the object claims: by default the code of
    /// its handle type (`handle_kind` of `type_name`); an actor reference claims its actor
    /// type's.
    fn is_kind(&self, program: &Program, kind: u16) -> bool {
        (noodle_nbc::op::KIND_HANDLE..noodle_nbc::op::KIND_HANDLE_END).contains(&kind) && noodle_nbc::op::handle_kind(&self.type_name(program)) == kind
    }
    /// How the object crosses to another actor: a copy or a share (`Ok`), or N2301 with the
    /// reason (the default: a handle tied to this process).
    fn send(&self, program: &Program) -> Result<Box<dyn Sendable>, VmError> {
        Err(VmError::new(
            crate::codes::N2301,
            format!("a {} cannot be sent to another actor: only data (numbers, strings, collections, structs, enums, tensors, actor references) and functions that capture nothing can", self.type_name(program)),
        ))
    }
}

impl dyn NativeObject {
    /// The object as a `T`, when it is one.
    pub fn downcast_ref<T: NativeObject>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }
    /// `downcast_ref`, for changing it.
    pub fn downcast_mut<T: NativeObject>(&mut self) -> Option<&mut T> {
        (self as &mut dyn Any).downcast_mut::<T>()
    }
}

/// A native object on its way to another actor's heap.
pub trait Sendable: Send + Sync + std::fmt::Debug {
    /// The object in the receiving heap (`NativeBox::new(obj)`).
    fn receive(&self) -> NativeBox;
}

/// A native object in its heap slot. One of at most `NativeBox::INLINE` bytes (an actor
/// reference, a task id) is kept in the slot itself; a larger one in a box. Kept inline, an
/// object costs no allocation and no pointer to follow: an actor sending to a reference it
/// holds would otherwise take a cache miss more per message on a cold heap, and each
/// reference a malloc'd block.
pub struct NativeBox {
    vt: &'static NativeVt,
    buf: std::mem::MaybeUninit<[u64; 4]>,
    /// Neither `Send` nor `Sync`, like the `Box<dyn NativeObject>` it stands for: what it holds
    /// may not be either.
    _not_send: std::marker::PhantomData<Box<dyn NativeObject>>,
}

/// How a `NativeBox` reaches and drops what it holds (one per type and placement).
struct NativeVt {
    get: unsafe fn(*const u8) -> *const dyn NativeObject,
    get_mut: unsafe fn(*mut u8) -> *mut dyn NativeObject,
    drop: unsafe fn(*mut u8),
}

// SAFETY (all four): `p` points to the buffer of a `NativeBox` whose `vt` was made for `T`,
// so it holds a valid `T` (inline) or `Box<dyn NativeObject>` (boxed), aligned for it.
unsafe fn get_inline<T: NativeObject>(p: *const u8) -> *const dyn NativeObject {
    p as *const T as *const dyn NativeObject
}
unsafe fn get_mut_inline<T: NativeObject>(p: *mut u8) -> *mut dyn NativeObject {
    p as *mut T as *mut dyn NativeObject
}
unsafe fn get_boxed(p: *const u8) -> *const dyn NativeObject {
    unsafe { &**(p as *const Box<dyn NativeObject>) as *const dyn NativeObject }
}
unsafe fn get_mut_boxed(p: *mut u8) -> *mut dyn NativeObject {
    unsafe { &mut **(p as *mut Box<dyn NativeObject>) as *mut dyn NativeObject }
}
unsafe fn drop_as<T>(p: *mut u8) {
    unsafe { std::ptr::drop_in_place(p as *mut T) }
}

impl NativeBox {
    /// The largest object kept inline, in bytes (with an alignment of at most 8).
    pub const INLINE: usize = 32;

    pub fn new<T: NativeObject>(obj: T) -> NativeBox {
        if std::mem::size_of::<T>() <= Self::INLINE && std::mem::align_of::<T>() <= 8 {
            let mut buf = std::mem::MaybeUninit::<[u64; 4]>::uninit();
            // SAFETY: the buffer is large and aligned enough for a `T` (checked above)
            unsafe { (buf.as_mut_ptr() as *mut T).write(obj) };
            NativeBox { vt: const { &NativeVt { get: get_inline::<T>, get_mut: get_mut_inline::<T>, drop: drop_as::<T> } }, buf, _not_send: std::marker::PhantomData }
        } else {
            Self::boxed(Box::new(obj))
        }
    }

    /// An object already boxed (kept in its box).
    pub fn boxed(obj: Box<dyn NativeObject>) -> NativeBox {
        let mut buf = std::mem::MaybeUninit::<[u64; 4]>::uninit();
        // SAFETY: a `Box<dyn _>` is two words, aligned to 8
        unsafe { (buf.as_mut_ptr() as *mut Box<dyn NativeObject>).write(obj) };
        NativeBox { vt: &NativeVt { get: get_boxed, get_mut: get_mut_boxed, drop: drop_as::<Box<dyn NativeObject>> }, buf, _not_send: std::marker::PhantomData }
    }
}

impl std::ops::Deref for NativeBox {
    type Target = dyn NativeObject;
    #[inline]
    fn deref(&self) -> &(dyn NativeObject + 'static) {
        // SAFETY: `vt` matches what `buf` holds (see `new` and `boxed`)
        unsafe { &*(self.vt.get)(self.buf.as_ptr() as *const u8) }
    }
}

impl std::ops::DerefMut for NativeBox {
    #[inline]
    fn deref_mut(&mut self) -> &mut (dyn NativeObject + 'static) {
        // SAFETY: as in `deref`
        unsafe { &mut *(self.vt.get_mut)(self.buf.as_mut_ptr() as *mut u8) }
    }
}

impl Drop for NativeBox {
    fn drop(&mut self) {
        // SAFETY: as in `deref`; the object is dropped once, here
        unsafe { (self.vt.drop)(self.buf.as_mut_ptr() as *mut u8) }
    }
}

/// The native functions a program may be linked with, by symbol (`math.sqrt`, `list.push`,
/// `db.Connection.query`). Built by `noodle-native`'s registry; the VM resolves a program's
/// native table against it when the program is loaded.
#[derive(Default, Clone)]
pub struct Natives {
    by_name: HashMap<String, NativeFn>,
    /// What the natives may touch outside the program (`Ctx::permit`); unrestricted unless
    /// the embedder sets it.
    pub permissions: Permissions,
    /// The program's command-line arguments, for `std.os.args` (empty unless the embedder
    /// sets them).
    pub args: Vec<String>,
}

impl Natives {
    pub fn new() -> Natives {
        Natives::default()
    }
    /// Adds (or replaces) the function behind a symbol.
    pub fn insert(&mut self, symbol: impl Into<String>, f: NativeFn) {
        self.by_name.insert(symbol.into(), f);
    }
    pub fn get(&self, symbol: &str) -> Option<NativeFn> {
        self.by_name.get(symbol).copied()
    }
    pub fn contains(&self, symbol: &str) -> bool {
        self.by_name.contains_key(symbol)
    }
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(|s| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// An object of `N` words that counts its drops.
    struct Counted<const N: usize> {
        drops: Rc<Cell<u32>>,
        words: [u64; N],
    }

    impl<const N: usize> NativeObject for Counted<N> {
        fn type_name(&self, _: &Program) -> String {
            format!("Counted{N}")
        }
        fn kind(&self) -> &'static str {
            "counted"
        }
        fn fmt(&self, _: &Program, out: &mut String) {
            out.push_str(&self.words.iter().sum::<u64>().to_string());
        }
    }

    impl<const N: usize> Drop for Counted<N> {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    fn check<const N: usize>() {
        let drops = Rc::new(Cell::new(0));
        let mut b = NativeBox::new(Counted::<N> { drops: drops.clone(), words: [1; N] });
        // read, changed, moved (as a heap slot's object is when the slots grow), read again
        assert_eq!(b.downcast_ref::<Counted<N>>().map(|c| c.words.len()), Some(N));
        b.downcast_mut::<Counted<N>>().unwrap().words[0] = 40;
        let moved = vec![b];
        let mut text = String::new();
        moved[0].fmt(&Program::default(), &mut text);
        assert_eq!(text, (40 + N as u64 - 1).to_string());
        assert!(moved[0].downcast_ref::<Counted<1>>().is_none() || N == 1);
        assert_eq!(drops.get(), 0);
        drop(moved);
        assert_eq!(drops.get(), 1, "dropped exactly once");
    }

    #[test]
    fn small_objects_are_kept_inline_and_large_ones_boxed() {
        // 8 + 8 bytes, 8 + 24 (the largest kept inline) and 8 + 32 (boxed)
        assert!(std::mem::size_of::<Counted<1>>() <= NativeBox::INLINE);
        assert!(std::mem::size_of::<Counted<3>>() <= NativeBox::INLINE);
        assert!(std::mem::size_of::<Counted<4>>() > NativeBox::INLINE);
        check::<1>();
        check::<3>();
        check::<4>();
        check::<16>();
    }

    #[test]
    fn a_boxed_object_keeps_its_box() {
        let drops = Rc::new(Cell::new(0));
        let b = NativeBox::boxed(Box::new(Counted::<2> { drops: drops.clone(), words: [2, 3] }));
        assert_eq!(b.kind(), "counted");
        assert_eq!(b.downcast_ref::<Counted<2>>().map(|c| c.words), Some([2, 3]));
        drop(b);
        assert_eq!(drops.get(), 1);
    }
}
