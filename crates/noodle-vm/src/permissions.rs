//! What a program may touch outside itself. Everything, unless the embedder says otherwise
//! (the CLI's `noodle run --sandbox`, in the spirit of Deno): then each kind of access is
//! denied unless granted, wholly or for a list of paths, hosts or names. Every native that
//! reads or writes files, reads the environment or connects to a server asks `Ctx::permit`
//! first; a denied access is N2013, naming the flag that would allow it.

use crate::codes::N2013;
use crate::error::VmError;
use std::path::{Component, Path, PathBuf};

/// One access a native is about to make.
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    /// Reading a file or a folder, or asking whether it exists.
    Read(&'a Path),
    /// Creating, writing or appending to a file.
    Write(&'a Path),
    /// Connecting to a server: its host (a name or an address) and port.
    Net(&'a str, Option<u16>),
    /// Reading an environment variable.
    Env(&'a str),
    /// Starting another program.
    Run(&'a str),
    /// Loading native code (a shared library, a Python extension).
    Ffi(&'a str),
}

/// What is granted of one kind of access.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Grant<T> {
    #[default]
    Nothing,
    Everything,
    Only(Vec<T>),
}

impl<T> Grant<T> {
    fn allows(&self, f: impl Fn(&T) -> bool) -> bool {
        match self {
            Grant::Nothing => false,
            Grant::Everything => true,
            Grant::Only(items) => items.iter().any(f),
        }
    }
}

/// The permissions of a run. `Permissions::default()` is unrestricted.
#[derive(Clone, Debug, Default)]
pub struct Permissions {
    /// Deny what is not granted below; false: allow everything.
    pub sandboxed: bool,
    pub read: Grant<PathBuf>,
    pub write: Grant<PathBuf>,
    /// `host` or `host:port`.
    pub net: Grant<String>,
    pub env: Grant<String>,
    pub run: Grant<String>,
    pub ffi: Grant<String>,
}

impl Permissions {
    /// Everything denied until granted.
    pub fn sandbox() -> Permissions {
        Permissions { sandboxed: true, ..Permissions::default() }
    }

    /// Ok when `access` is allowed; N2013 naming the flag that would allow it otherwise.
    pub fn check(&self, access: Access) -> Result<(), VmError> {
        if !self.sandboxed {
            return Ok(());
        }
        let (allowed, what, flag) = match access {
            Access::Read(p) => {
                let p = normalize(p);
                (self.read.allows(|g| p.starts_with(g)), format!("reading `{}`", p.display()), format!("--allow-read={}", p.display()))
            }
            Access::Write(p) => {
                let p = normalize(p);
                (self.write.allows(|g| p.starts_with(g)), format!("writing `{}`", p.display()), format!("--allow-write={}", p.display()))
            }
            Access::Net(host, port) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let with_port = port.map(|p| format!("{host}:{p}"));
                let ok = self.net.allows(|g| g.eq_ignore_ascii_case(host) || with_port.as_deref().is_some_and(|hp| g.eq_ignore_ascii_case(hp)));
                let target = with_port.unwrap_or_else(|| host.to_string());
                (ok, format!("network access to `{target}`"), format!("--allow-net={target}"))
            }
            Access::Env(name) => (self.env.allows(|g| g == name), format!("reading the environment variable `{name}`"), format!("--allow-env={name}")),
            Access::Run(prog) => (self.run.allows(|g| g == prog), format!("running `{prog}`"), format!("--allow-run={prog}")),
            Access::Ffi(lib) => (self.ffi.allows(|g| g == lib), format!("loading native code from `{lib}`"), format!("--allow-ffi={lib}")),
        };
        if allowed {
            Ok(())
        } else {
            Err(VmError::new(N2013, format!("permission denied: {what} (this program runs in a sandbox; `noodle run {flag}` allows it)")))
        }
    }
}

/// An absolute path with `.` and `..` resolved and symbolic links followed as far as the
/// path exists, so that `granted/../secret` or a link out of a granted folder is judged by
/// where it leads.
pub fn normalize(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    // the longest part that exists, resolved by the system; the rest, lexically
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            existing = real;
            break;
        }
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent().map(Path::to_path_buf)) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing;
    for part in rest.iter().rev() {
        out.push(part);
    }
    let mut clean = PathBuf::new();
    for c in out.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            c => clean.push(c),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrestricted_allows_everything() {
        let p = Permissions::default();
        assert!(p.check(Access::Read(Path::new("/etc/passwd"))).is_ok());
        assert!(p.check(Access::Net("example.com", Some(80))).is_ok());
    }

    #[test]
    fn a_sandbox_grants_paths_and_what_is_beneath_them() {
        let dir = std::env::temp_dir().join(format!("noodle-perm-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inside")).unwrap();
        let mut p = Permissions::sandbox();
        p.read = Grant::Only(vec![normalize(&dir.join("inside"))]);
        assert!(p.check(Access::Read(&dir.join("inside/a.txt"))).is_ok());
        assert!(p.check(Access::Read(&dir.join("inside/new/deeper.txt"))).is_ok());
        // `..` is resolved before the check
        let e = p.check(Access::Read(&dir.join("inside/../secret.txt"))).unwrap_err();
        assert_eq!(e.code, N2013);
        assert!(e.message.contains("--allow-read="), "{}", e.message);
        assert!(p.check(Access::Write(&dir.join("inside/a.txt"))).is_err());
        assert!(p.check(Access::Env("HOME")).is_err());
        p.env = Grant::Only(vec!["HOME".into()]);
        assert!(p.check(Access::Env("HOME")).is_ok());
        assert!(p.check(Access::Env("PATH")).is_err());
        p.net = Grant::Only(vec!["db.local".into(), "10.0.0.1:5432".into()]);
        assert!(p.check(Access::Net("db.local", Some(5432))).is_ok());
        assert!(p.check(Access::Net("10.0.0.1", Some(5432))).is_ok());
        assert!(p.check(Access::Net("10.0.0.1", Some(22))).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_a_granted_folder_is_judged_by_its_target() {
        let dir = std::env::temp_dir().join(format!("noodle-perm-link-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inside")).unwrap();
        std::fs::write(dir.join("secret.txt"), "s").unwrap();
        let _ = std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("inside/link.txt"));
        let mut p = Permissions::sandbox();
        p.read = Grant::Only(vec![normalize(&dir.join("inside"))]);
        assert!(p.check(Access::Read(&dir.join("inside/link.txt"))).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
