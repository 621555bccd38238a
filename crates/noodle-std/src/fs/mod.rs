//! `std.fs`: files and folders. Paths are strings; every failure is N2010 naming the path.
//! Reads ask `Ctx::permit` for `Access::Read`, changes for `Access::Write`, before touching
//! anything.

use crate::core::{io_error, io_text};
use crate::io::{str_value, strip_line_end};
use noodle_native::{arity, as_bytes, as_str, blocking, simple, Ctx, Module, NativeBox, NativeObject, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::permissions::Access;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

type R = Result<Value, VmError>;

/// The `std.fs` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.fs", include_str!("fs.noodle"))
        .function("read_text", blocking!(fs_read_text))
        .function("read_bytes", blocking!(fs_read_bytes))
        .function("write_text", blocking!(fs_write_text))
        .function("write_bytes", blocking!(fs_write_bytes))
        .function("append_text", blocking!(fs_append_text))
        .function("exists", simple!(fs_exists))
        .function("is_file", simple!(fs_is_file))
        .function("is_dir", simple!(fs_is_dir))
        .function("stat", simple!(fs_stat))
        .function("list_dir", blocking!(fs_list_dir))
        .function("walk", blocking!(fs_walk))
        .function("glob", blocking!(fs_glob))
        .function("mkdir", simple!(fs_mkdir))
        .function("remove", simple!(fs_remove))
        .function("remove_tree", blocking!(fs_remove_tree))
        .function("rename", simple!(fs_rename))
        .function("copy", blocking!(fs_copy))
        .function("temp_dir", simple!(fs_temp_dir))
        .function("make_temp_file", simple!(fs_make_temp_file))
        .function("make_temp_dir", simple!(fs_make_temp_dir))
        .function("join", simple!(fs_join))
        .function("parent", simple!(fs_parent))
        .function("name", simple!(fs_name))
        .function("stem", simple!(fs_stem))
        .function("extension", simple!(fs_extension))
        .function("absolute", simple!(fs_absolute))
        .function("relative", simple!(fs_relative))
        .function("lines", blocking!(fs_lines))
        .function("reader", blocking!(fs_reader))
        .function("Reader.read", blocking!(breader_read))
        .function("Reader.read_all", blocking!(breader_read_all))
        .function("Reader.close", simple!(breader_close))
        .function("Reader.exit", simple!(breader_close))
        .function("writer", blocking!(fs_writer))
        .function("FileInfo.size", simple!(info_size))
        .function("FileInfo.modified", simple!(info_modified))
        .function("FileInfo.kind", simple!(info_kind))
        .function("FileInfo.is_file", simple!(info_is_file))
        .function("FileInfo.is_dir", simple!(info_is_dir))
        .function("LineReader.__next__", blocking!(reader_next))
        .function("LineReader.next", blocking!(reader_next))
        .function("LineReader.close", simple!(reader_close))
        .function("LineReader.exit", simple!(reader_close))
        .function("Writer.write", blocking!(writer_write))
        .function("Writer.write_line", blocking!(writer_write_line))
        .function("Writer.write_bytes", blocking!(writer_write_bytes))
        .function("Writer.flush", blocking!(writer_flush))
        .function("Writer.close", blocking!(writer_close))
        .function("Writer.exit", blocking!(writer_close))
}

/// Argument `i`, a path, after asking to read it.
pub(crate) fn read_path<'h>(ctx: &'h Ctx, args: &[Value], i: usize, name: &str) -> Result<&'h str, VmError> {
    let p = as_str(ctx.heap, args[i], name)?;
    ctx.permit(Access::Read(Path::new(p)))?;
    Ok(p)
}

/// Argument `i`, a path, after asking to write it.
pub(crate) fn write_path<'h>(ctx: &'h Ctx, args: &[Value], i: usize, name: &str) -> Result<&'h str, VmError> {
    let p = as_str(ctx.heap, args[i], name)?;
    ctx.permit(Access::Write(Path::new(p)))?;
    Ok(p)
}

fn list_value(ctx: &mut Ctx, items: Vec<String>) -> R {
    let values: Vec<Value> = items.into_iter().map(|s| ctx.heap.alloc_str(s)).collect();
    Ok(ctx.heap.alloc(Obj::List(values.into())))
}

/// The whole content of the file at `path` (`fs.read_*`, `io.read_file`).
pub(crate) fn read_all(path: &str) -> Result<Vec<u8>, VmError> {
    let mut f = std::fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let mut buf = Vec::new();
    noodle_vm::input::read_to_end(&mut f, &mut buf).map_err(|e| io_error(path, &e))?;
    Ok(buf)
}

fn fs_read_text(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.read_text")?;
    let path = read_path(ctx, args, 0, "fs.read_text")?.to_string();
    let text = String::from_utf8(read_all(&path)?).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("{path}: not valid UTF-8 text (at byte {}); read it with fs.read_bytes", e.utf8_error().valid_up_to())))?;
    str_value(ctx, &text, &path)
}

fn fs_read_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.read_bytes")?;
    let path = read_path(ctx, args, 0, "fs.read_bytes")?.to_string();
    let data = read_all(&path)?;
    Ok(ctx.heap.alloc(Obj::Bytes(data.into())))
}

/// Writes `data` to `path`, whole; with `atomic`, through a temporary file in the same folder
/// that replaces `path` by a rename once it is written and synced.
fn write_file(path: &str, data: &[u8], atomic: bool) -> Result<(), VmError> {
    if !atomic {
        return std::fs::write(path, data).map_err(|e| io_error(path, &e));
    }
    let target = Path::new(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| io_error(path, &std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
    let (tmp, mut f) = create_unique(&dir, &format!(".{base}.tmp-"), "").map_err(|e| io_error(path, &e))?;
    let written = f.write_all(data).and_then(|_| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, &e));
    }
    // the rename itself is made durable by syncing the folder (best effort: not every file
    // system allows opening a folder)
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn fs_write_text(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "fs.write_text")?;
    let path = write_path(ctx, args, 0, "fs.write_text")?;
    let text = as_str(ctx.heap, args[1], "fs.write_text")?;
    write_file(path, text.as_bytes(), matches!(args[2], Value::Bool(true)))?;
    Ok(Value::None)
}

fn fs_write_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "fs.write_bytes")?;
    let path = write_path(ctx, args, 0, "fs.write_bytes")?;
    let data = as_bytes(ctx.heap, args[1], "fs.write_bytes")?;
    write_file(path, data, matches!(args[2], Value::Bool(true)))?;
    Ok(Value::None)
}

fn fs_append_text(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.append_text")?;
    let path = write_path(ctx, args, 0, "fs.append_text")?;
    let text = as_str(ctx.heap, args[1], "fs.append_text")?;
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| io_error(path, &e))?;
    f.write_all(text.as_bytes()).map_err(|e| io_error(path, &e))?;
    Ok(Value::None)
}

fn fs_exists(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.exists")?;
    let path = read_path(ctx, args, 0, "fs.exists")?;
    Ok(Value::Bool(Path::new(path).exists()))
}

fn fs_is_file(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.is_file")?;
    let path = read_path(ctx, args, 0, "fs.is_file")?;
    Ok(Value::Bool(Path::new(path).is_file()))
}

fn fs_is_dir(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.is_dir")?;
    let path = read_path(ctx, args, 0, "fs.is_dir")?;
    Ok(Value::Bool(Path::new(path).is_dir()))
}

/// What `stat` found.
pub struct FileInfo {
    size: u64,
    modified: f64,
    kind: &'static str,
}

impl NativeObject for FileInfo {
    fn type_name(&self, _: &Program) -> String {
        "fs.FileInfo".to_string()
    }
    fn kind(&self) -> &'static str {
        "FileInfo"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("FileInfo(size: {}, modified: {}, kind: {:?})", self.size, noodle_vm::fmt::float_repr(self.modified), self.kind));
    }
}

fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_file() {
        "file"
    } else if t.is_dir() {
        "dir"
    } else if t.is_symlink() {
        "symlink"
    } else {
        "other"
    }
}

fn fs_stat(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.stat")?;
    let path = read_path(ctx, args, 0, "fs.stat")?;
    let m = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
    let modified = m.modified().map_or(0.0, crate::time::unix_seconds);
    let info = FileInfo { size: m.len(), modified, kind: kind_of(m.file_type()) };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(info))))
}

fn info<'h>(ctx: &'h Ctx, args: &[Value]) -> Result<&'h FileInfo, VmError> {
    noodle_native::receiver(ctx.heap, args, "fs.FileInfo")
}

fn info_size(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(i64::try_from(info(ctx, args)?.size).unwrap_or(i64::MAX)))
}

fn info_modified(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Float(info(ctx, args)?.modified))
}

fn info_kind(ctx: &mut Ctx, args: &[Value]) -> R {
    let k = info(ctx, args)?.kind;
    Ok(ctx.heap.alloc_str(k))
}

fn info_is_file(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Bool(info(ctx, args)?.kind == "file"))
}

fn info_is_dir(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Bool(info(ctx, args)?.kind == "dir"))
}

fn fs_list_dir(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.list_dir")?;
    let path = read_path(ctx, args, 0, "fs.list_dir")?.to_string();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&path).map_err(|e| io_error(&path, &e))? {
        let entry = entry.map_err(|e| io_error(&path, &e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    list_value(ctx, names)
}

/// Folders `walk` goes down at most (deeper ones are listed, not entered).
const MAX_WALK_DEPTH: usize = 1000;

fn fs_walk(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.walk")?;
    let root = read_path(ctx, args, 0, "fs.walk")?.to_string();
    let mut out = Vec::new();
    // an explicit stack, sorted so the output is too: no recursion over the user's tree
    let mut stack: Vec<(PathBuf, usize)> = vec![(PathBuf::from(&root), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| io_error(&dir.to_string_lossy(), &e))? {
            let entry = entry.map_err(|e| io_error(&dir.to_string_lossy(), &e))?;
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            entries.push((entry.path(), is_dir));
        }
        entries.sort();
        // depth first, in order: children go on the stack reversed, each listed before its own
        let mut below = Vec::new();
        for (p, is_dir) in entries {
            out.push(p.to_string_lossy().into_owned());
            if is_dir && depth < MAX_WALK_DEPTH {
                below.push(p);
            }
        }
        for p in below.into_iter().rev() {
            stack.push((p, depth + 1));
        }
    }
    // parents before what they hold, siblings in order
    out.sort_by(|a, b| Path::new(a).components().cmp(Path::new(b).components()));
    list_value(ctx, out)
}

fn fs_glob(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.glob")?;
    let pattern = as_str(ctx.heap, args[0], "fs.glob")?.to_string();
    // the folder the pattern starts from must be readable
    let fixed: PathBuf = Path::new(&pattern).components().take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '['])).collect();
    ctx.permit(Access::Read(if fixed.as_os_str().is_empty() { Path::new(".") } else { &fixed }))?;
    let paths = glob::glob(&pattern).map_err(|e| VmError::arg(format!("the glob pattern {:?} is malformed at position {}: {}", pattern, e.pos, e.msg)))?;
    let mut out = Vec::new();
    for p in paths {
        match p {
            Ok(p) => out.push(p.to_string_lossy().into_owned()),
            Err(e) => return Err(io_error(&e.path().to_string_lossy(), e.error())),
        }
    }
    out.sort();
    list_value(ctx, out)
}

fn fs_mkdir(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.mkdir")?;
    let path = write_path(ctx, args, 0, "fs.mkdir")?;
    let r = if matches!(args[1], Value::Bool(true)) { std::fs::create_dir_all(path) } else { std::fs::create_dir(path) };
    r.map_err(|e| io_error(path, &e))?;
    Ok(Value::None)
}

/// Removes what is at the path argument: a folder with `remove_dir`, anything else (a file, a
/// symbolic link, which is not followed) as a file.
fn remove_with(ctx: &mut Ctx, args: &[Value], name: &str, remove_dir: fn(&str) -> std::io::Result<()>) -> R {
    arity(args, 1, name)?;
    let path = write_path(ctx, args, 0, name)?;
    let m = std::fs::symlink_metadata(path).map_err(|e| io_error(path, &e))?;
    let r = if m.is_dir() { remove_dir(path) } else { std::fs::remove_file(path) };
    r.map_err(|e| io_error(path, &e))?;
    Ok(Value::None)
}

fn fs_remove(ctx: &mut Ctx, args: &[Value]) -> R {
    remove_with(ctx, args, "fs.remove", |p| std::fs::remove_dir(p))
}

fn fs_remove_tree(ctx: &mut Ctx, args: &[Value]) -> R {
    // `remove_dir_all` does not follow symbolic links below the folder either
    remove_with(ctx, args, "fs.remove_tree", |p| std::fs::remove_dir_all(p))
}

fn fs_rename(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.rename")?;
    let src = write_path(ctx, args, 0, "fs.rename")?;
    let dst = write_path(ctx, args, 1, "fs.rename")?;
    std::fs::rename(src, dst).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("renaming {src} to {dst}: {}", io_text(&e))))?;
    Ok(Value::None)
}

fn fs_copy(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.copy")?;
    let src = read_path(ctx, args, 0, "fs.copy")?;
    let dst = write_path(ctx, args, 1, "fs.copy")?;
    std::fs::copy(src, dst).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("copying {src} to {dst}: {}", io_text(&e))))?;
    Ok(Value::None)
}

fn fs_temp_dir(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "fs.temp_dir")?;
    let d = std::env::temp_dir();
    Ok(ctx.heap.alloc_str(d.to_string_lossy().as_ref()))
}

/// Creates a new file `dir/PREFIX<random>SUFFIX` that did not exist before.
fn create_unique(dir: &Path, prefix: &str, suffix: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    for _ in 0..16 {
        let p = dir.join(format!("{prefix}{}{suffix}", random_part()?));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name for a temporary file"))
}

/// 12 random hex digits for a temporary name.
fn random_part() -> std::io::Result<String> {
    let mut b = [0u8; 6];
    crate::random::secure_fill(&mut b).map_err(|e| std::io::Error::other(e.message))?;
    Ok(crate::core::hex(&b))
}

/// The folder a temporary item goes in: `dir`, or the system's, after asking to write there.
fn temp_parent(ctx: &Ctx, dir: Value, name: &str) -> Result<PathBuf, VmError> {
    let d = match dir {
        Value::None => std::env::temp_dir(),
        v => PathBuf::from(as_str(ctx.heap, v, name)?),
    };
    ctx.permit(Access::Write(&d))?;
    Ok(d)
}

/// N2011 unless a prefix or suffix is a plain part of a name.
fn name_part(s: &str, what: &str) -> Result<(), VmError> {
    if s.contains(['/', '\0']) {
        return Err(VmError::arg(format!("a temporary name's {what} cannot contain `/` or NUL: {s:?}")));
    }
    Ok(())
}

fn fs_make_temp_file(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "fs.make_temp_file")?;
    let prefix = as_str(ctx.heap, args[0], "fs.make_temp_file")?.to_string();
    let suffix = as_str(ctx.heap, args[1], "fs.make_temp_file")?.to_string();
    name_part(&prefix, "prefix")?;
    name_part(&suffix, "suffix")?;
    let dir = temp_parent(ctx, args[2], "fs.make_temp_file")?;
    let (p, _) = create_unique(&dir, &prefix, &suffix).map_err(|e| io_error(&dir.to_string_lossy(), &e))?;
    Ok(ctx.heap.alloc_str(p.to_string_lossy().as_ref()))
}

fn fs_make_temp_dir(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.make_temp_dir")?;
    let prefix = as_str(ctx.heap, args[0], "fs.make_temp_dir")?.to_string();
    name_part(&prefix, "prefix")?;
    let dir = temp_parent(ctx, args[1], "fs.make_temp_dir")?;
    for _ in 0..16 {
        let p = dir.join(format!("{prefix}{}", random_part().map_err(|e| io_error(&dir.to_string_lossy(), &e))?));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(ctx.heap.alloc_str(p.to_string_lossy().as_ref())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&p.to_string_lossy(), &e)),
        }
    }
    Err(io_error(&dir.to_string_lossy(), &std::io::Error::other("no free name")))
}

fn path_arg<'h>(ctx: &'h Ctx, args: &[Value], i: usize, name: &str) -> Result<&'h str, VmError> {
    as_str(ctx.heap, args[i], name)
}

fn fs_join(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.join")?;
    let a = path_arg(ctx, args, 0, "fs.join")?;
    let b = path_arg(ctx, args, 1, "fs.join")?;
    let joined = if a.is_empty() { PathBuf::from(b) } else { Path::new(a).join(b) };
    Ok(ctx.heap.alloc_str(joined.to_string_lossy().as_ref()))
}

/// One part of the path argument, as text (empty when it has none).
fn path_part(ctx: &mut Ctx, args: &[Value], name: &str, part: fn(&Path) -> Option<&std::ffi::OsStr>) -> R {
    arity(args, 1, name)?;
    let p = path_arg(ctx, args, 0, name)?;
    let text = part(Path::new(p)).map(|x| x.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(ctx.heap.alloc_str(text))
}

fn fs_parent(ctx: &mut Ctx, args: &[Value]) -> R {
    path_part(ctx, args, "fs.parent", |p| p.parent().map(Path::as_os_str))
}

fn fs_name(ctx: &mut Ctx, args: &[Value]) -> R {
    path_part(ctx, args, "fs.name", Path::file_name)
}

fn fs_stem(ctx: &mut Ctx, args: &[Value]) -> R {
    path_part(ctx, args, "fs.stem", Path::file_stem)
}

fn fs_extension(ctx: &mut Ctx, args: &[Value]) -> R {
    path_part(ctx, args, "fs.extension", Path::extension)
}

/// `path` absolute, with `.` and `..` resolved in the text.
fn absolute(path: &str) -> Result<PathBuf, VmError> {
    let p = Path::new(path);
    let full = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map_err(|e| io_error("the working folder", &e))?.join(p) };
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    Ok(out)
}

fn fs_absolute(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.absolute")?;
    let p = absolute(path_arg(ctx, args, 0, "fs.absolute")?)?;
    Ok(ctx.heap.alloc_str(p.to_string_lossy().as_ref()))
}

fn fs_relative(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.relative")?;
    let p = absolute(path_arg(ctx, args, 0, "fs.relative")?)?;
    let base = absolute(path_arg(ctx, args, 1, "fs.relative")?)?;
    let pc: Vec<Component> = p.components().collect();
    let bc: Vec<Component> = base.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c.as_os_str());
    }
    let s = out.to_string_lossy().into_owned();
    Ok(ctx.heap.alloc_str(if s.is_empty() { ".".to_string() } else { s }))
}

/// A file read line by line; `None` once closed or at its end. The reader may decompress
/// (`compress.lines`): then `format` names the format, and a read error is malformed data.
pub struct LineReader {
    path: String,
    file: Option<Box<dyn std::io::BufRead>>,
    line: u64,
    format: Option<&'static str>,
    /// The longest line read (bytes): a decompressed stream can be far larger than its file.
    max_line: Option<u64>,
}

impl LineReader {
    pub(crate) fn new(path: String, file: Box<dyn std::io::BufRead>, format: Option<&'static str>, max_line: Option<u64>) -> LineReader {
        LineReader { path, file: Some(file), line: 0, format, max_line }
    }
}

impl NativeObject for LineReader {
    fn type_name(&self, _: &Program) -> String {
        "fs.LineReader".to_string()
    }
    fn kind(&self) -> &'static str {
        "LineReader"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<fs.LineReader {}>", self.path));
    }
}

fn fs_lines(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.lines")?;
    let path = read_path(ctx, args, 0, "fs.lines")?.to_string();
    let f = std::fs::File::open(&path).map_err(|e| io_error(&path, &e))?;
    let r = LineReader::new(path, Box::new(std::io::BufReader::new(f)), None, None);
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(r))))
}

fn reader_next(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut LineReader = noodle_native::receiver_mut(ctx.heap, args, "fs.LineReader.next")?;
    let Some(f) = r.file.as_mut() else { return Ok(Value::None) };
    let mut buf = Vec::new();
    let read = match r.max_line {
        Some(max) => noodle_vm::input::read_until(&mut std::io::Read::take(&mut *f, max + 1), b'\n', &mut buf),
        None => noodle_vm::input::read_until(f, b'\n', &mut buf),
    };
    let n = read.map_err(|e| match r.format {
        Some(format) if e.kind() != std::io::ErrorKind::OutOfMemory => VmError::new(crate::codes::N2507, format!("{}: malformed {format} data after line {}: {e}", r.path, r.line)),
        _ => io_error(&r.path, &e),
    })?;
    if n == 0 {
        r.file = None;
        return Ok(Value::None);
    }
    if let Some(max) = r.max_line.filter(|m| n as u64 > *m && buf.last() != Some(&b'\n')) {
        return Err(VmError::new(crate::codes::N2507, format!("{}: line {} is longer than max_line ({max} bytes)", r.path, r.line + 1)));
    }
    r.line += 1;
    strip_line_end(&mut buf);
    let line = r.line;
    let path = r.path.clone();
    let text = String::from_utf8(buf).map_err(|_| VmError::new(noodle_vm::codes::N2010, format!("{path}: line {line} is not valid UTF-8 text")))?;
    str_value(ctx, &text, "the line")
}

fn reader_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut LineReader = noodle_native::receiver_mut(ctx.heap, args, "fs.LineReader.close")?;
    r.file = None;
    Ok(Value::None)
}

/// A file read as bytes, a piece at a time (`fs.reader`); `None` once closed or at its end.
pub struct Reader {
    path: String,
    file: Option<std::io::BufReader<std::fs::File>>,
}

impl NativeObject for Reader {
    fn type_name(&self, _: &Program) -> String {
        "fs.Reader".to_string()
    }
    fn kind(&self) -> &'static str {
        "Reader"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<fs.Reader {}>", self.path));
    }
}

fn fs_reader(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "fs.reader")?;
    let path = read_path(ctx, args, 0, "fs.reader")?.to_string();
    let f = std::fs::File::open(&path).map_err(|e| io_error(&path, &e))?;
    let r = Reader { path, file: Some(std::io::BufReader::new(f)) };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(r))))
}

/// `read(n)`: the next `n` bytes, fewer only at the end of the file (empty there and after).
/// Room is made as bytes arrive, so a large `n` costs only what the file has (N2011 past the
/// memory the process can get).
fn breader_read(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.Reader.read")?;
    let n = noodle_native::as_int(args[1], "fs.Reader.read")?;
    if n < 0 {
        return Err(VmError::arg(format!("fs.Reader.read: a number of bytes, not negative (got {n})")));
    }
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "fs.Reader.read")?;
    let mut buf = Vec::new();
    if let Some(f) = r.file.as_mut() {
        let got = noodle_vm::input::read_to_end(&mut std::io::Read::take(f, n as u64), &mut buf).map_err(|e| io_error(&r.path, &e))?;
        if (got as u64) < n as u64 {
            r.file = None;
        }
    }
    Ok(ctx.heap.alloc(Obj::Bytes(buf.into())))
}

/// `read_all()`: the rest of the file.
fn breader_read_all(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "fs.Reader.read_all")?;
    let mut buf = Vec::new();
    if let Some(mut f) = r.file.take() {
        noodle_vm::input::read_to_end(&mut f, &mut buf).map_err(|e| io_error(&r.path, &e))?;
    }
    Ok(ctx.heap.alloc(Obj::Bytes(buf.into())))
}

fn breader_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "fs.Reader.close")?;
    r.file = None;
    Ok(Value::None)
}

/// A file being written through a buffer (and maybe a compressor: `compress.writer`); `None`
/// once closed.
pub struct Writer {
    path: String,
    file: Option<Box<dyn Sink>>,
}

impl Writer {
    pub(crate) fn new(path: String, sink: Box<dyn Sink>) -> Writer {
        Writer { path, file: Some(sink) }
    }
}

/// Where a `Writer` writes: `finish` ends the stream (a compressor writes its trailer), writes
/// out the buffer and syncs the file to its device, so an error saving it is raised.
pub(crate) trait Sink: Write {
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

impl Sink for std::io::BufWriter<std::fs::File> {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let file = (*self).into_inner().map_err(|e| std::io::Error::new(e.error().kind(), e.error().to_string()))?;
        file.sync_all()
    }
}

impl NativeObject for Writer {
    fn type_name(&self, _: &Program) -> String {
        "fs.Writer".to_string()
    }
    fn kind(&self) -> &'static str {
        "Writer"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<fs.Writer {}>", self.path));
    }
}

fn fs_writer(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.writer")?;
    let path = write_path(ctx, args, 0, "fs.writer")?.to_string();
    let append = matches!(args[1], Value::Bool(true));
    let f = std::fs::OpenOptions::new().write(true).create(true).append(append).truncate(!append).open(&path).map_err(|e| io_error(&path, &e))?;
    let w = Writer::new(path, Box::new(std::io::BufWriter::new(f)));
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(w))))
}

fn writer_of<'h>(ctx: &'h mut Ctx, args: &[Value]) -> Result<&'h mut Writer, VmError> {
    noodle_native::receiver_mut(ctx.heap, args, "fs.Writer")
}

fn write_text(ctx: &mut Ctx, args: &[Value], newline: bool) -> R {
    let text = as_str(ctx.heap, args[1], "fs.Writer.write")?.to_string();
    let w = writer_of(ctx, args)?;
    let Some(f) = w.file.as_mut() else { return Err(VmError::new(noodle_vm::codes::N2010, format!("{}: the writer is closed", w.path))) };
    let r = f.write_all(text.as_bytes()).and_then(|_| if newline { f.write_all(b"\n") } else { Ok(()) });
    r.map_err(|e| io_error(&w.path, &e))?;
    Ok(Value::None)
}

fn writer_write_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.Writer.write_bytes")?;
    let data = as_bytes(ctx.heap, args[1], "fs.Writer.write_bytes")?.to_vec();
    let w = writer_of(ctx, args)?;
    let Some(f) = w.file.as_mut() else { return Err(VmError::new(noodle_vm::codes::N2010, format!("{}: the writer is closed", w.path))) };
    f.write_all(&data).map_err(|e| io_error(&w.path, &e))?;
    Ok(Value::None)
}

fn writer_write(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.Writer.write")?;
    write_text(ctx, args, false)
}

fn writer_write_line(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "fs.Writer.write_line")?;
    write_text(ctx, args, true)
}

fn writer_flush(ctx: &mut Ctx, args: &[Value]) -> R {
    let w = writer_of(ctx, args)?;
    if let Some(f) = w.file.as_mut() {
        f.flush().map_err(|e| io_error(&w.path, &e))?;
    }
    Ok(Value::None)
}

/// `close()` and the end of a `with` block: the buffer written out and the file synced to its
/// device, so that an error saving it is raised here rather than lost.
fn writer_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let w = writer_of(ctx, args)?;
    if let Some(f) = w.file.take() {
        f.finish().map_err(|e| io_error(&w.path, &e))?;
    }
    Ok(Value::None)
}
