//! `std.net`: TCP and UDP sockets. Every socket is non-blocking; an operation the system says
//! would block asks the host to wait for the descriptor (`Host::io_wait`: the runtime's
//! reactor parks only the calling process) and says `not_yet`, so the native is called again,
//! with the same arguments, once the socket is ready. What an operation has done so far (bytes
//! read ahead, bytes of a write already sent, the addresses a connect has still to try) lives
//! in the socket's object, never in the VM. Outside a runtime the native waits with `poll(2)`.
//!
//! A socket object holds its socket behind an `Arc<Mutex<..>>` so that sending it to another
//! actor can move the socket out of the sender's object (`NativeObject::send` has `&self`).

use crate::codes::{N2517, N2518, N2519, N2520, N2523};
use crate::core::{io_error, io_text};
use noodle_native::{arity, as_float, as_int, as_str, not_yet, simple, Ctx, Flow, IoWait, Module, NativeBox, NativeObject, Obj, Sendable, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::permissions::Access;
use std::cell::Cell;
use std::fmt::Display;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type R = Result<Value, VmError>;
type Poll = Result<Value, Flow>;

/// How much room a read gives the system at least (a stream's buffer, once grown, is reused
/// without being cleared again).
const CHUNK: usize = 16 * 1024;

/// The `std.net` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.net", include_str!("net.noodle"))
        .function("connect", net_connect)
        .function("listen", simple!(net_listen))
        .function("connect_tls", net_connect_tls)
        .function("connect_unix", simple!(net_connect_unix))
        .function("listen_unix", simple!(net_listen_unix))
        .function("listen_tls", simple!(net_listen_tls))
        .function("udp", simple!(net_udp))
        .function("resolve", simple!(net_resolve))
        .function("Listener.accept", listener_accept)
        .function("Listener.port", simple!(listener_port))
        .function("Listener.address", simple!(listener_address))
        .function("Listener.close", simple!(close::<Listening>))
        .function("Listener.exit", simple!(close::<Listening>))
        .function("Stream.read", stream_read)
        .function("Stream.read_exact", stream_read_exact)
        .function("Stream.read_line", stream_read_line)
        .function("Stream.read_all", stream_read_all)
        .function("Stream.__next__", stream_next)
        .function("Stream.write", stream_write)
        .function("Stream.write_bytes", stream_write)
        .function("Stream.set_timeout", simple!(stream_set_timeout))
        .function("Stream.shutdown", simple!(stream_shutdown))
        .function("Stream.peer", simple!(stream_peer))
        .function("Stream.address", simple!(stream_address))
        .function("Stream.close", simple!(close::<Conn>))
        .function("Stream.exit", simple!(close::<Conn>))
        .function("UdpSocket.send_to", udp_send_to)
        .function("UdpSocket.receive", udp_receive)
        .function("UdpSocket.port", simple!(udp_port))
        .function("UdpSocket.address", simple!(udp_address))
        .function("UdpSocket.set_timeout", simple!(udp_set_timeout))
        .function("UdpSocket.close", simple!(close::<Datagrams>))
        .function("UdpSocket.exit", simple!(close::<Datagrams>))
}

// ---------------------------------------------------------------------------------------
// Socket objects

/// What a socket object's type says about itself.
trait Socket: Send + 'static {
    const TYPE: &'static str;
    const KIND: &'static str;
    /// The address shown when it is printed.
    fn shown(&self) -> String;
}

enum State<T> {
    Open(T),
    Closed,
    /// Sent to another actor, which owns it now.
    Moved,
}

/// A socket as a native object (`net.Stream`, `net.Listener`, `net.UdpSocket`).
struct SocketObj<T: Socket> {
    inner: Arc<Mutex<State<T>>>,
}

impl<T: Socket> SocketObj<T> {
    fn new(sock: T) -> SocketObj<T> {
        SocketObj { inner: Arc::new(Mutex::new(State::Open(sock))) }
    }
}

impl<T: Socket> NativeObject for SocketObj<T> {
    fn type_name(&self, _: &Program) -> String {
        T::TYPE.to_string()
    }
    fn kind(&self) -> &'static str {
        T::KIND
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        let shown = match &*lock(&self.inner) {
            State::Open(s) => s.shown(),
            State::Closed => "closed".to_string(),
            State::Moved => "sent to another actor".to_string(),
        };
        out.push_str(&format!("<{} {shown}>", T::TYPE));
    }
    /// A socket moves: the receiver owns it, the sender's object is left closed.
    fn send(&self, _: &Program) -> Result<Box<dyn Sendable>, VmError> {
        let moved = std::mem::replace(&mut *lock(&self.inner), State::Moved);
        Ok(Box::new(Moving(Arc::new(Mutex::new(moved)))))
    }
}

/// A socket on its way to another actor. Every receipt (a supervisor's restart spawns again
/// from the same arguments) gets the same socket.
struct Moving<T>(Arc<Mutex<State<T>>>);

impl<T: Socket> std::fmt::Debug for Moving<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} moving>", T::TYPE)
    }
}

impl<T: Socket> Sendable for Moving<T> {
    fn receive(&self) -> NativeBox {
        NativeBox::new(SocketObj { inner: self.0.clone() })
    }
}

/// A poisoned lock only means another native panicked holding it; the socket is still whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket behind the receiver of a method (`args[0]`).
fn held<T: Socket>(ctx: &Ctx, args: &[Value], name: &str) -> Result<Arc<Mutex<State<T>>>, VmError> {
    let v = args.first().copied().ok_or_else(|| noodle_native::bad(name))?;
    Ok(ctx.object::<SocketObj<T>>(v, name)?.inner.clone())
}

/// The open socket, or N2517 saying why there is none.
fn open<'a, T: Socket>(state: &'a mut State<T>, name: &str) -> Result<&'a mut T, VmError> {
    match state {
        State::Open(s) => Ok(s),
        State::Closed => Err(VmError::new(N2517, format!("{name}: the {} is closed", T::KIND))),
        State::Moved => Err(VmError::new(N2517, format!("{name}: the {} was sent to another actor, which owns it now", T::KIND))),
    }
}

/// `f` of the open socket of the receiver (`args[0]`): the accessors and setters.
fn with_open<T: Socket, V>(ctx: &Ctx, args: &[Value], name: &str, f: impl FnOnce(&mut T) -> Result<V, VmError>) -> Result<V, VmError> {
    let h = held::<T>(ctx, args, name)?;
    let mut g = lock(&h);
    f(open(&mut g, name)?)
}

fn close<T: Socket>(ctx: &mut Ctx, args: &[Value]) -> R {
    let h = held::<T>(ctx, args, T::TYPE)?;
    let mut g = lock(&h);
    // a moved socket stays moved (its new owner closes it)
    if matches!(*g, State::Open(_)) {
        *g = State::Closed;
    }
    Ok(Value::None)
}

// ---------------------------------------------------------------------------------------
// Waiting

/// What an operation was doing, for its error messages (`reading from 127.0.0.1:80`), put
/// together only if there is an error: the hot paths made the text on every call.
#[derive(Clone, Copy)]
struct What<'a>(&'static str, &'a str);

impl Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

/// What to do after a wait for a socket.
enum Step {
    /// Try the operation again.
    Again,
    /// The process must suspend: the native returns `not_yet`.
    Suspend,
    TimedOut,
}

/// Waits (or starts waiting, or checks the wait in progress) until `fd` is ready to read or
/// write: under a runtime by suspending this process, otherwise on this thread.
fn wait_io(ctx: &mut Ctx, fd: i32, write: bool, timeout: Option<f64>, what: impl Display) -> Result<Step, VmError> {
    if !waiting(ctx) {
        // what the program printed shows before it waits (as before a `sleep`): a server
        // that prints its port and then waits for clients must not keep that to itself
        let _ = ctx.out.flush();
    }
    let state = match ctx.host.as_deref_mut() {
        Some(h) => h.io_wait(fd, write, timeout)?,
        None => IoWait::Block,
    };
    Ok(match state {
        IoWait::Ready => Step::Again,
        IoWait::Pending => Step::Suspend,
        IoWait::TimedOut => Step::TimedOut,
        IoWait::Block => match ctx.blocking(|_| poll_fd(fd, write, timeout)) {
            Ok(true) => Step::Again,
            Ok(false) => Step::TimedOut,
            Err(e) => return Err(net_error(what, &e)),
        },
    })
}

/// Whether the process was woken in a wait this native started (it is being called again).
fn waiting(ctx: &Ctx) -> bool {
    ctx.host.as_deref().is_some_and(|h| h.io_waiting())
}

/// `poll(2)` on one descriptor: true when ready, false after `timeout`.
fn poll_fd(fd: i32, write: bool, timeout: Option<f64>) -> std::io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.clamp(0.0, 1e9)));
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                left.as_millis().saturating_add(u128::from(left.subsec_nanos() % 1_000_000 != 0)).min(i32::MAX as u128) as libc::c_int
            }
        };
        let mut p = libc::pollfd { fd, events: if write { libc::POLLOUT } else { libc::POLLIN }, revents: 0 };
        // SAFETY: one valid pollfd, for the duration of the call
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r > 0 {
            return Ok(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}

/// Runs `attempt` until the socket does not say it would block, waiting for `fd` between
/// tries: its value, or `None` when the process must suspend (the native then says
/// `not_yet`). A wait this native started earlier is settled first.
/// `write` says which way the socket must become ready when `attempt` would block: a TLS
/// connection may have to read to write (its handshake) and to write to read, so an attempt
/// may change it.
fn drive<T>(ctx: &mut Ctx, fd: i32, write: &Cell<bool>, timeout: Option<f64>, what: impl Display + Copy, mut attempt: impl FnMut(&mut Ctx) -> std::io::Result<T>) -> Result<Option<T>, VmError> {
    if waiting(ctx) {
        match wait_io(ctx, fd, write.get(), timeout, what)? {
            Step::Again => {}
            Step::Suspend => return Ok(None),
            Step::TimedOut => return Err(timed_out(what, timeout)),
        }
    }
    loop {
        match attempt(ctx) {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => match wait_io(ctx, fd, write.get(), timeout, what)? {
                Step::Again => {}
                Step::Suspend => return Ok(None),
                Step::TimedOut => return Err(timed_out(what, timeout)),
            },
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(net_error(what, &e)),
        }
    }
}

fn net_error(what: impl Display, e: &std::io::Error) -> VmError {
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return VmError::new(N2523, format!("{what}: TLS: {e}"));
    }
    // out of descriptors is the limit every file shares (`--max-open-files`)
    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
        return io_error(&what.to_string(), e);
    }
    VmError::new(N2517, format!("{what}: {}", io_text(e)))
}

fn timed_out(what: impl Display, timeout: Option<f64>) -> VmError {
    VmError::new(N2518, format!("{what}: timed out after {} s", timeout.unwrap_or_default()))
}

// ---------------------------------------------------------------------------------------
// Arguments

fn port_arg(v: Value, name: &str) -> Result<u16, VmError> {
    let p = as_int(v, name)?;
    u16::try_from(p).map_err(|_| VmError::arg(format!("{name}: a port is 0 to 65535 (got {p})")))
}

fn timeout_arg(v: Value, name: &str) -> Result<Option<f64>, VmError> {
    if matches!(v, Value::None) {
        return Ok(None);
    }
    let t = as_float(v, name)?;
    if t.is_nan() || t < 0.0 {
        return Err(VmError::arg(format!("{name}: a timeout cannot be negative (got {t})")));
    }
    Ok(t.is_finite().then_some(t))
}

fn size_arg(v: Value, name: &str) -> Result<usize, VmError> {
    let n = as_int(v, name)?;
    usize::try_from(n).map_err(|_| VmError::arg(format!("{name}: a number of bytes, not negative (got {n})")))
}

/// `host:port`, with an IPv6 address in brackets.
fn target(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The addresses of `host` and `port`: an address literal at once, a name through the
/// system's resolver (which may wait: the scheduler is told).
fn addresses(ctx: &mut Ctx, host: &str, port: u16, what: &str) -> Result<Vec<SocketAddr>, VmError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found = ctx.blocking(|_| (bare, port).to_socket_addrs());
    let addrs: Vec<SocketAddr> = found.map_err(|e| VmError::new(N2517, format!("{what}: cannot resolve `{host}`: {}", io_text(&e))))?.collect();
    if addrs.is_empty() {
        return Err(VmError::new(N2517, format!("{what}: `{host}` has no address")));
    }
    Ok(addrs)
}

fn obj<T: Socket>(ctx: &mut Ctx, sock: T) -> Value {
    ctx.heap.alloc(Obj::Native(NativeBox::new(SocketObj::new(sock))))
}

fn bytes_value(ctx: &mut Ctx, data: Vec<u8>) -> Value {
    ctx.heap.alloc(Obj::Bytes(data.into()))
}

// ---------------------------------------------------------------------------------------
// TCP connections

/// The socket under a stream: TCP, or a Unix domain socket.
enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(buf),
            Sock::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.write(buf),
            Sock::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sock {
    fn as_raw_fd(&self) -> i32 {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
        }
    }
    fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        match self {
            Sock::Tcp(s) => s.shutdown(how),
            Sock::Unix(s) => s.shutdown(how),
        }
    }
    /// This end's address: `host:port`, or a Unix socket's path.
    fn local(&self) -> std::io::Result<String> {
        match self {
            Sock::Tcp(s) => s.local_addr().map(|a| a.to_string()),
            Sock::Unix(s) => s.local_addr().map(|a| unix_name(&a)),
        }
    }
}

fn unix_name(a: &std::os::unix::net::SocketAddr) -> String {
    match a.as_pathname() {
        Some(p) => p.display().to_string(),
        None => "(unnamed)".to_string(),
    }
}

/// A stream connection (TCP or Unix), or one being made; with TLS over it when `tls` is set.
struct Conn {
    /// None until connected.
    sock: Option<Sock>,
    connecting: Option<Box<Connecting>>,
    /// The TLS session (client or server side); its handshake runs with the first read or
    /// write (`connect_tls` finishes it before it returns).
    tls: Option<Box<rustls::Connection>>,
    /// Bytes read ahead of the program (by `read_line`, or more than `read(n)` asked for):
    /// `buf[start..end]` is what has not been handed out yet; `buf[end..]` is room, zeroed
    /// once when the buffer grew (clearing 64 KiB before every read was most of the time a
    /// request took).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How far `read_line` has looked for a line end (from `start`).
    scanned: usize,
    /// The peer has closed its side.
    eof: bool,
    /// The bytes of the write in progress already sent (the write is retried until all are).
    written: usize,
    timeout: Option<f64>,
    /// What it connects to (for messages).
    /// Shared, so that an operation can hold it for its messages while it changes the rest.
    peer: Arc<str>,
}

/// A connect in progress: the attempt waiting to finish, the addresses left to try, and the
/// TLS session to start once connected (`connect_tls`).
struct Connecting {
    attempt: Option<(socket2::Socket, SocketAddr)>,
    rest: VecDeque<SocketAddr>,
    last: Option<VmError>,
    tls: Option<rustls::ClientConnection>,
}

impl Socket for Conn {
    const TYPE: &'static str = "net.Stream";
    const KIND: &'static str = "connection";
    fn shown(&self) -> String {
        self.peer.to_string()
    }
}

fn would_block() -> std::io::Error {
    std::io::Error::from(ErrorKind::WouldBlock)
}

fn tls_error(e: rustls::Error) -> std::io::Error {
    std::io::Error::new(ErrorKind::InvalidData, e)
}

impl Conn {
    fn new(sock: Option<Sock>, timeout: Option<f64>, peer: String) -> Conn {
        Conn { sock, connecting: None, tls: None, buf: Vec::new(), start: 0, end: 0, scanned: 0, eof: false, written: 0, timeout, peer: peer.into() }
    }

    fn connected(sock: TcpStream, timeout: Option<f64>) -> Conn {
        let peer = sock.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".to_string());
        Conn::new(Some(Sock::Tcp(sock)), timeout, peer)
    }

    fn sock(&mut self, name: &str) -> Result<&mut Sock, VmError> {
        self.sock.as_mut().ok_or_else(|| VmError::new(N2517, format!("{name}: the connection is not made yet")))
    }

    fn fd(&self) -> i32 {
        self.sock.as_ref().map_or(-1, |s| s.as_raw_fd())
    }

    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The first `n` buffered bytes, handed out.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        self.scanned = self.scanned.saturating_sub(n);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // an idle connection keeps a small buffer, not the largest it ever needed
            if self.buf.len() > 4 * CHUNK {
                self.buf = Vec::new();
            }
        }
        out
    }

    /// Sends the TLS records waiting to go out; `WouldBlock` (and `write` set) when the socket
    /// takes no more.
    fn flush_tls(tls: &mut rustls::Connection, sock: &mut Sock, write: &Cell<bool>) -> std::io::Result<()> {
        while tls.wants_write() {
            match tls.write_tls(sock) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    write.set(true);
                    return Err(e);
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Reads TLS records from the socket into the session: false at the end of the TCP
    /// stream; `WouldBlock` (and `write` cleared) when nothing has arrived.
    fn read_records(tls: &mut rustls::Connection, sock: &mut Sock, write: &Cell<bool>) -> std::io::Result<bool> {
        match tls.read_tls(sock) {
            Ok(0) => Ok(false),
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    // tell the peer why (an alert), as far as the socket takes it
                    let _ = tls.write_tls(sock);
                    return Err(tls_error(e));
                }
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                write.set(false);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs the TLS handshake as far as the socket allows (nothing to do without TLS or once
    /// it is done).
    fn handshake(&mut self, write: &Cell<bool>) -> std::io::Result<()> {
        let (Some(tls), Some(sock)) = (self.tls.as_deref_mut(), self.sock.as_mut()) else { return Ok(()) };
        while tls.is_handshaking() {
            Conn::flush_tls(tls, sock, write)?;
            if !tls.is_handshaking() {
                break;
            }
            if !Conn::read_records(tls, sock, write)? {
                // a TLS failure (N2523): a peer that does not speak TLS often just closes
                return Err(std::io::Error::new(ErrorKind::UnexpectedEof, rustls::Error::General("the peer closed the connection during the handshake".into())));
            }
        }
        Conn::flush_tls(tls, sock, write)
    }

    /// Reads what the socket has (up to `CHUNK` bytes) onto the end of the buffer: how many
    /// (0 at the end of the stream). Room is asked for fallibly: a peer cannot make the
    /// process abort by sending more than memory holds.
    fn fill(&mut self, write: &Cell<bool>) -> std::io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        // only a handshake must write before reading: records a failed write left behind must
        // not stop what has arrived from being read (a server answers 413 and closes)
        if self.tls.as_deref().is_some_and(|t| t.is_handshaking()) {
            self.handshake(write)?;
        }
        if self.start > 0 && self.start >= self.end / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK {
            let want = self.end + CHUNK;
            self.buf.try_reserve(want - self.buf.len()).map_err(|_| std::io::Error::new(ErrorKind::OutOfMemory, "out of memory for what the peer sent"))?;
            // room the size of what is buffered: a large read ahead grows geometrically
            let grown = want.max(self.buf.len() * 2).min(self.buf.capacity());
            self.buf.resize(grown.max(want), 0);
        }
        let len = self.end;
        let r = match (self.sock.as_mut(), self.tls.as_deref_mut()) {
            (None, _) => Err(std::io::Error::new(ErrorKind::NotConnected, "the connection is not made yet")),
            (Some(sock), None) => sock.read(&mut self.buf[len..]),
            (Some(sock), Some(tls)) => loop {
                match tls.reader().read(&mut self.buf[len..]) {
                    // 0: the peer's close_notify
                    Ok(n) => break Ok(n),
                    // the TCP stream ended without a close_notify: taken as the end (many
                    // servers close so)
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => break Ok(0),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => break Err(e),
                }
                match Conn::read_records(tls, sock, write) {
                    // the end: the session's reader says how it ended, next time round
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
            },
        };
        self.end = len + *r.as_ref().unwrap_or(&0);
        if let Ok(0) = r {
            self.eof = true;
        }
        r
    }

    /// Sends what is left of `data` (from `written` on), through TLS when there is a session;
    /// `WouldBlock` when the socket takes no more for now.
    fn send(&mut self, data: &[u8], write: &Cell<bool>) -> std::io::Result<()> {
        self.handshake(write)?;
        let Some(sock) = self.sock.as_mut() else { return Err(std::io::Error::new(ErrorKind::NotConnected, "the connection is not made yet")) };
        match self.tls.as_deref_mut() {
            None => {
                while self.written < data.len() {
                    match sock.write(&data[self.written..]) {
                        Ok(0) => return Err(std::io::Error::new(ErrorKind::WriteZero, "the connection took no more")),
                        Ok(k) => self.written += k,
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Some(tls) => loop {
                Conn::flush_tls(tls, sock, write)?;
                if self.written >= data.len() {
                    return Ok(());
                }
                // the session takes a bounded amount of plain text at a time
                let k = tls.writer().write(&data[self.written..])?;
                if k == 0 && !tls.wants_write() {
                    return Err(would_block());
                }
                self.written += k;
            },
        }
    }

    /// Half-closes the sending side: a TLS close_notify (as far as the socket takes it), then
    /// the TCP shutdown.
    fn shutdown(&mut self) -> std::io::Result<()> {
        let Some(sock) = self.sock.as_mut() else { return Ok(()) };
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.send_close_notify();
            let _ = Conn::flush_tls(tls, sock, &Cell::new(true));
        }
        sock.shutdown(Shutdown::Write)
    }
}

impl Drop for Conn {
    /// A TLS session says goodbye (close_notify) when the socket can take it at once.
    fn drop(&mut self) {
        if let (Some(tls), Some(sock)) = (self.tls.as_deref_mut(), self.sock.as_mut()) {
            if !tls.is_handshaking() {
                tls.send_close_notify();
                let _ = Conn::flush_tls(tls, sock, &Cell::new(true));
            }
        }
    }
}

fn net_connect(ctx: &mut Ctx, args: &[Value]) -> Poll {
    arity(args, 3, "net.connect")?;
    let host = as_str(ctx.heap, args[0], "net.connect")?.to_string();
    let port = port_arg(args[1], "net.connect")?;
    let timeout = timeout_arg(args[2], "net.connect")?;
    start_connect(ctx, host, port, timeout, None)
}

/// `connect_tls(host, port, timeout, ca_file, server_name)`.
fn net_connect_tls(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.connect_tls";
    arity(args, 5, NAME)?;
    let host = as_str(ctx.heap, args[0], NAME)?.to_string();
    let port = port_arg(args[1], NAME)?;
    let timeout = timeout_arg(args[2], NAME)?;
    let ca_file = optional_str(ctx, args[3], NAME)?;
    let name = optional_str(ctx, args[4], NAME)?.unwrap_or_else(|| host.trim_start_matches('[').trim_end_matches(']').to_string());
    let config = match &ca_file {
        None => default_client_config().map_err(|e| VmError::new(N2523, format!("{NAME}: {e}")))?,
        Some(path) => {
            ctx.permit(Access::Read(std::path::Path::new(path)))?;
            client_config(Some(path)).map_err(|e| VmError::new(N2523, format!("{NAME}: {e}")))?
        }
    };
    let server = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|_| VmError::new(N2523, format!("{NAME}: `{name}` is not a host name or an address a certificate can name")))?;
    let session = rustls::ClientConnection::new(config, server).map_err(|e| VmError::new(N2523, format!("{NAME}: {e}")))?;
    start_connect(ctx, host, port, timeout, Some(session))
}

fn optional_str(ctx: &Ctx, v: Value, name: &str) -> Result<Option<String>, VmError> {
    match v {
        Value::None => Ok(None),
        v => Ok(Some(as_str(ctx.heap, v, name)?.to_string())),
    }
}

fn start_connect(ctx: &mut Ctx, host: String, port: u16, timeout: Option<f64>, tls: Option<rustls::ClientConnection>) -> Poll {
    ctx.permit(Access::Net(&host, Some(port)))?;
    let peer = target(&host, port);
    let what = format!("connecting to {peer}");
    let rest: VecDeque<SocketAddr> = addresses(ctx, &host, port, &what)?.into();
    let mut conn = Conn::new(None, timeout, peer);
    conn.connecting = Some(Box::new(Connecting { attempt: None, rest, last: None, tls }));
    let v = obj(ctx, conn);
    connect_step(ctx, &[v])
}

/// Goes on with the connect of the stream `args[0]`: each address in turn until one answers,
/// then the TLS handshake when there is one.
fn connect_step(ctx: &mut Ctx, args: &[Value]) -> Poll {
    let h = held::<Conn>(ctx, args, "net.connect")?;
    let mut g = lock(&h);
    let c = open(&mut g, "net.connect")?;
    let what = format!("connecting to {}", c.peer);
    let Some(mut k) = c.connecting.take() else { return finish_handshake(ctx, c, args, &what) };
    loop {
        if let Some((sock, addr)) = k.attempt.take() {
            let step = wait_io(ctx, sock.as_raw_fd(), true, c.timeout, &what)?;
            match step {
                Step::Suspend => {
                    k.attempt = Some((sock, addr));
                    c.connecting = Some(k);
                    return not_yet(connect_step, args);
                }
                Step::TimedOut => k.last = Some(timed_out(&what, c.timeout)),
                Step::Again => match sock.take_error() {
                    Ok(None) if sock.peer_addr().is_ok() => {
                        let stream: TcpStream = sock.into();
                        let _ = stream.set_nodelay(true);
                        c.sock = Some(Sock::Tcp(stream));
                        c.tls = k.tls.take().map(|s| Box::new(rustls::Connection::Client(s)));
                        return finish_handshake(ctx, c, args, &what);
                    }
                    // not connected yet (woken early): wait again
                    Ok(None) => {
                        k.attempt = Some((sock, addr));
                        continue;
                    }
                    Ok(Some(e)) | Err(e) => k.last = Some(net_error(&what, &e)),
                },
            }
        }
        let Some(addr) = k.rest.pop_front() else {
            return Err(k.last.take().unwrap_or_else(|| VmError::new(N2517, format!("{what}: no address to try"))).into());
        };
        let sock = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, Some(socket2::Protocol::TCP)).and_then(|s| s.set_nonblocking(true).map(|_| s));
        let sock = match sock {
            Ok(s) => s,
            Err(e) => return Err(net_error(&what, &e).into()),
        };
        match sock.connect(&addr.into()) {
            Ok(()) => {
                k.attempt = Some((sock, addr));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == ErrorKind::WouldBlock => {
                k.attempt = Some((sock, addr));
            }
            Err(e) => k.last = Some(net_error(&what, &e)),
        }
    }
}

/// The end of a connect: a TLS session's handshake (nothing to do without TLS), then the
/// stream `args[0]`.
fn finish_handshake(ctx: &mut Ctx, c: &mut Conn, args: &[Value], what: &str) -> Poll {
    let (fd, timeout) = (c.fd(), c.timeout);
    let dir = Cell::new(true);
    match drive(ctx, fd, &dir, timeout, what, |_| c.handshake(&dir)) {
        Ok(Some(())) => Ok(args[0]),
        Ok(None) => not_yet(connect_step, args),
        // the program never gets the stream: close its connection now, not when the
        // collector frees it (the server would wait until then)
        Err(e) => {
            c.tls = None;
            c.sock = None;
            Err(e.into())
        }
    }
}

// ---------------------------------------------------------------------------------------
// TLS configuration

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration that trusts the Mozilla root certificates (webpki-roots), made
/// once.
fn default_client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| client_config(None)).clone()
}

/// A client configuration trusting the Mozilla roots, or only the certificates of `ca_file`.
fn client_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            for cert in certificates(path)? {
                roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn certificates(path: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| format!("{path}: {e}"))?.collect();
    let certs = certs.map_err(|e| format!("{path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path}: no certificate (a PEM file with `BEGIN CERTIFICATE`)"));
    }
    Ok(certs)
}

fn server_config(cert_file: &str, key_file: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = certificates(cert_file)?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key_file).map_err(|e| format!("{key_file}: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{cert_file}: {e}"))?;
    Ok(Arc::new(config))
}

/// One more read from the socket into `c`'s buffer, waiting for the socket as `drive` does:
/// false when the process must suspend (the native then says `not_yet`). Every reading native
/// loops on this until its buffer holds what it wants, or the stream has ended.
fn read_more(ctx: &mut Ctx, c: &mut Conn) -> Result<bool, VmError> {
    let peer = c.peer.clone();
    let (fd, timeout) = (c.fd(), c.timeout);
    let dir = Cell::new(false);
    Ok(drive(ctx, fd, &dir, timeout, What("reading from", &peer), |_| c.fill(&dir))?.is_some())
}

/// `f` of the receiver's open connection (`args[0]`), for the natives that read.
fn reading(ctx: &mut Ctx, args: &[Value], name: &str, f: impl FnOnce(&mut Ctx, &mut Conn) -> Poll) -> Poll {
    let h = held::<Conn>(ctx, args, name)?;
    let mut g = lock(&h);
    f(ctx, open(&mut g, name)?)
}

fn stream_read(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Stream.read";
    arity(args, 2, NAME)?;
    let n = size_arg(args[1], NAME)?;
    reading(ctx, args, NAME, |ctx, c| {
        while c.buffered() == 0 && n > 0 && !c.eof {
            if !read_more(ctx, c)? {
                return not_yet(stream_read, args);
            }
        }
        let got = c.take(n.min(c.buffered()));
        Ok(bytes_value(ctx, got))
    })
}

fn stream_read_exact(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Stream.read_exact";
    arity(args, 2, NAME)?;
    let n = size_arg(args[1], NAME)?;
    reading(ctx, args, NAME, |ctx, c| {
        while c.buffered() < n {
            if c.eof {
                let what = What("reading from", &c.peer);
                return Err(VmError::new(N2519, format!("{what}: the connection closed after {} of the {n} bytes expected", c.buffered())).into());
            }
            if !read_more(ctx, c)? {
                return not_yet(stream_read_exact, args);
            }
        }
        let got = c.take(n);
        Ok(bytes_value(ctx, got))
    })
}

/// The next line, or None at the end; `Err(Flow::Suspend)` through `not_yet` of `again`.
fn next_line(ctx: &mut Ctx, args: &[Value], max: usize, name: &str, again: noodle_native::NativeFn) -> Poll {
    reading(ctx, args, name, |ctx, c| loop {
        let peer = c.peer.clone();
        let what = What("reading from", &peer);
        let pending = &c.buf[c.start..c.end];
        if let Some(i) = pending[c.scanned..].iter().position(|&b| b == b'\n').map(|i| i + c.scanned) {
            if i > max {
                return Err(too_long(what, max).into());
            }
            let mut line = c.take(i + 1);
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            c.scanned = 0;
            return line_value(ctx, line, what);
        }
        c.scanned = pending.len();
        if c.scanned > max {
            return Err(too_long(what, max).into());
        }
        if c.eof {
            if c.buffered() == 0 {
                return Ok(Value::None);
            }
            let line = c.take(c.buffered());
            c.scanned = 0;
            return line_value(ctx, line, what);
        }
        if !read_more(ctx, c)? {
            return not_yet(again, args);
        }
    })
}

fn too_long(what: impl Display, max: usize) -> VmError {
    VmError::new(N2520, format!("{what}: no line end within {max} bytes"))
}

fn line_value(ctx: &mut Ctx, line: Vec<u8>, what: impl Display) -> Poll {
    match String::from_utf8(line) {
        Ok(s) => Ok(ctx.heap.alloc_str(s)),
        Err(_) => Err(VmError::new(noodle_vm::codes::N2010, format!("{what}: a line that is not valid UTF-8 text")).into()),
    }
}

fn stream_read_line(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Stream.read_line";
    arity(args, 2, NAME)?;
    let max = size_arg(args[1], NAME)?;
    next_line(ctx, args, max, NAME, stream_read_line)
}

fn stream_next(ctx: &mut Ctx, args: &[Value]) -> Poll {
    arity(args, 1, "net.Stream.__next__")?;
    next_line(ctx, args, 1 << 20, "net.Stream.__next__", stream_next)
}

fn stream_read_all(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Stream.read_all";
    arity(args, 1, NAME)?;
    reading(ctx, args, NAME, |ctx, c| {
        while !c.eof {
            if !read_more(ctx, c)? {
                return not_yet(stream_read_all, args);
            }
        }
        let got = c.take(c.buffered());
        Ok(bytes_value(ctx, got))
    })
}

/// `write(text)` and `write_bytes(data)`: everything is sent, the process waiting while the
/// peer's buffers are full (backpressure: memory never grows with a slow peer).
fn stream_write(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Stream.write";
    arity(args, 2, NAME)?;
    let h = held::<Conn>(ctx, args, NAME)?;
    let mut g = lock(&h);
    let c = open(&mut g, NAME)?;
    let peer = c.peer.clone();
    let what = What("writing to", &peer);
    let (fd, timeout) = (c.fd(), c.timeout);
    let dir = Cell::new(true);
    let sent = drive(ctx, fd, &dir, timeout, &what, |ctx| {
        let data: &[u8] = match args[1] {
            Value::Obj(r) => match ctx.heap.get(r) {
                Obj::Str(s) => s.as_bytes(),
                Obj::Bytes(b) => b,
                _ => &[],
            },
            _ => &[],
        };
        c.send(data, &dir)
    });
    match sent {
        Ok(Some(())) => {
            c.written = 0;
            Ok(Value::None)
        }
        Ok(None) => not_yet(stream_write, args),
        Err(mut e) => {
            if c.written > 0 {
                // the rest is not sent: say how much went, so the program knows where it stands
                let total = payload_len(ctx, args[1]);
                e.message.push_str(&format!(" (after sending {} of the {total} bytes; the rest was not sent)", c.written));
            }
            c.written = 0;
            Err(e.into())
        }
    }
}

fn payload_len(ctx: &Ctx, v: Value) -> usize {
    match v {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(s) => s.len(),
            Obj::Bytes(b) => b.len(),
            _ => 0,
        },
        _ => 0,
    }
}

fn stream_set_timeout(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "net.Stream.set_timeout")?;
    let t = timeout_arg(args[1], "net.Stream.set_timeout")?;
    with_open(ctx, args, "net.Stream.set_timeout", |c: &mut Conn| {
        c.timeout = t;
        Ok(Value::None)
    })
}

fn stream_shutdown(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "net.Stream.shutdown";
    let h = held::<Conn>(ctx, args, NAME)?;
    let mut g = lock(&h);
    let c = open(&mut g, NAME)?;
    let what = format!("shutting down the connection to {}", c.peer);
    c.sock(NAME)?;
    match c.shutdown() {
        // the peer has gone already: nothing more would reach it anyway
        Err(e) if e.kind() == ErrorKind::NotConnected => Ok(Value::None),
        r => r.map(|_| Value::None).map_err(|e| net_error(&what, &e)),
    }
}

fn stream_peer(ctx: &mut Ctx, args: &[Value]) -> R {
    let peer = with_open(ctx, args, "net.Stream.peer", |c: &mut Conn| Ok(c.peer.clone()))?;
    Ok(ctx.heap.alloc_str(&*peer))
}

fn stream_address(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "net.Stream.address";
    let a = with_open(ctx, args, NAME, |c: &mut Conn| c.sock(NAME)?.local().map_err(|e| net_error(NAME, &e)))?;
    Ok(ctx.heap.alloc_str(a))
}

// ---------------------------------------------------------------------------------------
// TCP listeners

struct Listening {
    sock: Acceptor,
    /// `host:port`, or the path of a Unix socket.
    addr: String,
    /// 0 for a Unix socket.
    port: u16,
    /// `listen_tls`: each accepted connection gets a server session of this configuration.
    tls: Option<Arc<rustls::ServerConfig>>,
}

enum Acceptor {
    Tcp(TcpListener),
    /// The listener and its socket file, removed when the listener closes.
    Unix(UnixListener, std::path::PathBuf),
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Acceptor::Unix(_, path) = &self.sock {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Socket for Listening {
    const TYPE: &'static str = "net.Listener";
    const KIND: &'static str = "listener";
    fn shown(&self) -> String {
        self.addr.clone()
    }
}

fn net_listen(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "net.listen")?;
    listen(ctx, args[0], args[1], args[2], None, "net.listen")
}

/// `listen_tls(host, port, cert_file, key_file, backlog)`.
fn net_listen_tls(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "net.listen_tls";
    arity(args, 5, NAME)?;
    let cert = as_str(ctx.heap, args[2], NAME)?.to_string();
    let key = as_str(ctx.heap, args[3], NAME)?.to_string();
    ctx.permit(Access::Read(std::path::Path::new(&cert)))?;
    ctx.permit(Access::Read(std::path::Path::new(&key)))?;
    let config = server_config(&cert, &key).map_err(|e| VmError::new(N2523, format!("{NAME}: {e}")))?;
    listen(ctx, args[0], args[1], args[4], Some(config), NAME)
}

fn listen(ctx: &mut Ctx, host: Value, port: Value, backlog: Value, tls: Option<Arc<rustls::ServerConfig>>, name: &str) -> R {
    let host = as_str(ctx.heap, host, name)?.to_string();
    let port = port_arg(port, name)?;
    let backlog = as_int(backlog, name)?;
    if !(1..=65535).contains(&backlog) {
        return Err(VmError::arg(format!("{name}: a backlog is 1 to 65535 (got {backlog})")));
    }
    // by host: the port may be 0, for the system to choose
    ctx.permit(Access::Net(&host, None))?;
    let what = format!("listening on {}", target(&host, port));
    let addr = addresses(ctx, &host, port, &what)?[0];
    let made = (|| {
        let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
        // a restarted server can take its port back while old connections linger
        s.set_reuse_address(true)?;
        s.bind(&addr.into())?;
        s.listen(backlog as i32)?;
        s.set_nonblocking(true)?;
        Ok::<_, std::io::Error>(TcpListener::from(s))
    })();
    let sock = made.map_err(|e| net_error(&what, &e))?;
    let addr = sock.local_addr().map_err(|e| net_error(&what, &e))?;
    Ok(obj(ctx, Listening { sock: Acceptor::Tcp(sock), addr: addr.to_string(), port: addr.port(), tls }))
}

fn listener_accept(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.Listener.accept";
    arity(args, 2, NAME)?;
    let timeout = timeout_arg(args[1], NAME)?;
    let h = held::<Listening>(ctx, args, NAME)?;
    let mut g = lock(&h);
    let l = open(&mut g, NAME)?;
    let what = format!("accepting on {}", l.addr);
    let fd = match &l.sock {
        Acceptor::Tcp(s) => s.as_raw_fd(),
        Acceptor::Unix(s, _) => s.as_raw_fd(),
    };
    let accepted = drive(ctx, fd, &Cell::new(false), timeout, &what, |_| loop {
        let r = match &l.sock {
            Acceptor::Tcp(s) => s.accept().and_then(|(c, _)| {
                c.set_nonblocking(true)?;
                let _ = c.set_nodelay(true);
                Ok(Conn::connected(c, None))
            }),
            Acceptor::Unix(s, path) => s.accept().and_then(|(c, _)| {
                c.set_nonblocking(true)?;
                Ok(Conn::new(Some(Sock::Unix(c)), None, path.display().to_string()))
            }),
        };
        match r {
            // a connection reset before it was accepted: take the next
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            r => return r,
        }
    })?;
    let Some(mut conn) = accepted else { return not_yet(listener_accept, args) };
    let config = l.tls.clone();
    drop(g);
    if let Some(config) = config {
        // the handshake runs with the connection's first read or write, in whoever owns it
        // then: a slow client does not hold up the accepting loop
        let session = rustls::ServerConnection::new(config).map_err(|e| VmError::new(N2523, format!("{what}: TLS: {e}")))?;
        conn.tls = Some(Box::new(rustls::Connection::Server(session)));
    }
    Ok(obj(ctx, conn))
}

fn listener_port(ctx: &mut Ctx, args: &[Value]) -> R {
    with_open(ctx, args, "net.Listener.port", |l: &mut Listening| Ok(Value::Int(i64::from(l.port))))
}

fn listener_address(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = with_open(ctx, args, "net.Listener.address", |l: &mut Listening| Ok(l.addr.clone()))?;
    Ok(ctx.heap.alloc_str(a))
}

// ---------------------------------------------------------------------------------------
// Unix domain sockets

/// `connect_unix(path)`: a stream to the Unix socket at `path` (a local connect does not wait
/// for a handshake: it succeeds or fails at once).
fn net_connect_unix(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "net.connect_unix";
    arity(args, 2, NAME)?;
    let path = as_str(ctx.heap, args[0], NAME)?.to_string();
    let timeout = timeout_arg(args[1], NAME)?;
    ctx.permit(Access::Write(std::path::Path::new(&path)))?;
    let what = format!("connecting to {path}");
    let sock = UnixStream::connect(&path).and_then(|s| s.set_nonblocking(true).map(|_| s)).map_err(|e| net_error(&what, &e))?;
    Ok(obj(ctx, Conn::new(Some(Sock::Unix(sock)), timeout, path)))
}

/// `listen_unix(path, backlog)`: a listener on a new Unix socket file at `path` (N2517 when
/// something is there already), removed when the listener closes.
fn net_listen_unix(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "net.listen_unix";
    arity(args, 1, NAME)?;
    let path = as_str(ctx.heap, args[0], NAME)?.to_string();
    ctx.permit(Access::Write(std::path::Path::new(&path)))?;
    let what = format!("listening on {path}");
    let sock = UnixListener::bind(&path).and_then(|s| s.set_nonblocking(true).map(|_| s)).map_err(|e| net_error(&what, &e))?;
    let file = std::path::PathBuf::from(&path);
    Ok(obj(ctx, Listening { sock: Acceptor::Unix(sock, file), addr: path, port: 0, tls: None }))
}

// ---------------------------------------------------------------------------------------
// UDP

struct Datagrams {
    sock: UdpSocket,
    addr: SocketAddr,
    timeout: Option<f64>,
}

impl Socket for Datagrams {
    const TYPE: &'static str = "net.UdpSocket";
    const KIND: &'static str = "socket";
    fn shown(&self) -> String {
        self.addr.to_string()
    }
}

fn net_udp(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "net.udp")?;
    let host = as_str(ctx.heap, args[0], "net.udp")?.to_string();
    let port = port_arg(args[1], "net.udp")?;
    ctx.permit(Access::Net(&host, None))?;
    let what = format!("binding {}", target(&host, port));
    let addr = addresses(ctx, &host, port, &what)?[0];
    let sock = UdpSocket::bind(addr).and_then(|s| s.set_nonblocking(true).map(|_| s)).map_err(|e| net_error(&what, &e))?;
    let addr = sock.local_addr().map_err(|e| net_error(&what, &e))?;
    Ok(obj(ctx, Datagrams { sock, addr, timeout: None }))
}

fn udp_send_to(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.UdpSocket.send_to";
    arity(args, 4, NAME)?;
    let host = as_str(ctx.heap, args[2], NAME)?.to_string();
    let port = port_arg(args[3], NAME)?;
    ctx.permit(Access::Net(&host, Some(port)))?;
    let what = format!("sending to {}", target(&host, port));
    let to = addresses(ctx, &host, port, &what)?[0];
    let h = held::<Datagrams>(ctx, args, NAME)?;
    let mut g = lock(&h);
    let d = open(&mut g, NAME)?;
    let (fd, timeout) = (d.sock.as_raw_fd(), d.timeout);
    let sent = drive(ctx, fd, &Cell::new(true), timeout, &what, |ctx| {
        let data = noodle_native::as_bytes(ctx.heap, args[1], NAME).map_err(|e| std::io::Error::other(e.message))?;
        d.sock.send_to(data, to)
    })?;
    match sent {
        Some(_) => Ok(Value::None),
        None => not_yet(udp_send_to, args),
    }
}

fn udp_receive(ctx: &mut Ctx, args: &[Value]) -> Poll {
    const NAME: &str = "net.UdpSocket.receive";
    arity(args, 2, NAME)?;
    let n = size_arg(args[1], NAME)?.min(65536);
    let h = held::<Datagrams>(ctx, args, NAME)?;
    let mut g = lock(&h);
    let d = open(&mut g, NAME)?;
    let what = format!("receiving on {}", d.addr);
    let (fd, timeout) = (d.sock.as_raw_fd(), d.timeout);
    let mut buf = vec![0u8; n];
    let got = drive(ctx, fd, &Cell::new(false), timeout, &what, |_| d.sock.recv_from(&mut buf))?;
    let Some((k, from)) = got else { return not_yet(udp_receive, args) };
    drop(g);
    buf.truncate(k);
    let data = bytes_value(ctx, buf);
    let host = ctx.heap.alloc_str(from.ip().to_string());
    Ok(ctx.heap.alloc(Obj::Tuple([data, host, Value::Int(i64::from(from.port()))].into_iter().collect())))
}

fn udp_port(ctx: &mut Ctx, args: &[Value]) -> R {
    with_open(ctx, args, "net.UdpSocket.port", |d: &mut Datagrams| Ok(Value::Int(i64::from(d.addr.port()))))
}

fn udp_address(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = with_open(ctx, args, "net.UdpSocket.address", |d: &mut Datagrams| Ok(d.addr.to_string()))?;
    Ok(ctx.heap.alloc_str(a))
}

fn udp_set_timeout(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "net.UdpSocket.set_timeout")?;
    let t = timeout_arg(args[1], "net.UdpSocket.set_timeout")?;
    with_open(ctx, args, "net.UdpSocket.set_timeout", |d: &mut Datagrams| {
        d.timeout = t;
        Ok(Value::None)
    })
}

// ---------------------------------------------------------------------------------------
// Names

fn net_resolve(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "net.resolve")?;
    let host = as_str(ctx.heap, args[0], "net.resolve")?.to_string();
    ctx.permit(Access::Net(&host, None))?;
    let mut seen: Vec<String> = Vec::new();
    for a in addresses(ctx, &host, 0, "net.resolve")? {
        let ip = a.ip().to_string();
        if !seen.contains(&ip) {
            seen.push(ip);
        }
    }
    let items: Vec<Value> = seen.into_iter().map(|s| ctx.heap.alloc_str(s)).collect();
    Ok(ctx.heap.alloc(Obj::List(items.into())))
}
