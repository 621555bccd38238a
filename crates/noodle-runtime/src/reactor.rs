//! The I/O reactor: processes waiting for a file descriptor (a socket to read or to write).
//! A native whose operation would block (`WouldBlock` on a non-blocking socket) asks its host
//! to wait (`Host::io_wait`); the host registers the descriptor here with a fresh token and
//! the process parks. When the system says the descriptor is ready, the reactor finishes the
//! process's I/O task (as a timer does), the process runs again and the native retries its
//! operation. So a read that waits holds up one actor or task, never a scheduler thread.
//!
//! Built on mio (epoll on Linux). Registrations are edge-triggered; a wait re-registers the
//! descriptor, which makes the system report it at once if it is ready already, so a wake-up
//! that came between the failed operation and the registration is not lost. Every wait has a
//! token of its own: descriptor numbers are reused after a close, tokens never are.

use crate::process::{self, Cell};
use crate::Shared;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token of the waker that interrupts a poll (shutdown).
const WAKE: Token = Token(0);

pub(crate) struct Reactor {
    poll: Mutex<Poll>,
    registry: mio::Registry,
    waker: Waker,
    /// Each pending wait by its token: the process and its I/O task.
    waiters: Mutex<HashMap<usize, (Arc<Cell>, u64)>>,
    next_token: AtomicUsize,
}

impl Reactor {
    pub(crate) fn new() -> std::io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKE)?;
        Ok(Reactor { poll: Mutex::new(poll), registry, waker, waiters: Mutex::new(HashMap::new()), next_token: AtomicUsize::new(1) })
    }

    /// Finishes `task` of `cell` when `fd` is ready to read (or write). The token, to
    /// `forget` the wait if it ends another way.
    pub(crate) fn wait(&self, fd: i32, write: bool, cell: Arc<Cell>, task: u64) -> std::io::Result<usize> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let interest = if write { Interest::WRITABLE } else { Interest::READABLE };
        self.waiters.lock().unwrap().insert(token, (cell, task));
        let mut src = SourceFd(&fd);
        let r = match self.registry.register(&mut src, Token(token), interest) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.registry.reregister(&mut src, Token(token), interest),
            r => r,
        };
        match r {
            Ok(()) => Ok(token),
            Err(e) => {
                self.waiters.lock().unwrap().remove(&token);
                Err(e)
            }
        }
    }

    /// The wait `token` ended another way (its timeout, its process stopped): an event for
    /// it is ignored from now on.
    pub(crate) fn forget(&self, token: usize) {
        self.waiters.lock().unwrap().remove(&token);
    }

    /// Waits that have not ended (a main program waiting for a socket is not deadlocked).
    pub(crate) fn pending(&self) -> usize {
        self.waiters.lock().unwrap().len()
    }

    /// Waits up to `timeout` (None: until something happens) for ready descriptors and wakes
    /// their processes. How many it woke.
    pub(crate) fn poll_once(&self, shared: &Arc<Shared>, timeout: Option<Duration>) -> usize {
        let mut events = Events::with_capacity(256);
        {
            let mut poll = self.poll.lock().unwrap();
            if let Err(e) = poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    shared.log(&format!("warning: waiting for sockets failed: {e}\n"));
                    // do not spin on a broken poller
                    std::thread::sleep(Duration::from_millis(10));
                }
                return 0;
            }
        }
        let mut woken = 0;
        for ev in events.iter() {
            if ev.token() == WAKE {
                continue;
            }
            let waiter = self.waiters.lock().unwrap().remove(&ev.token().0);
            if let Some((cell, task)) = waiter {
                process::deliver_sys(shared, &cell, process::Sys::Timer { task });
                woken += 1;
            }
        }
        woken
    }

    /// Interrupts a poll in progress (shutdown).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Drops every wait (the end of a run: the waits hold cells).
    pub(crate) fn clear(&self) {
        self.waiters.lock().unwrap().clear();
    }
}

/// The reactor thread of threaded mode: polls until the run shuts down.
pub(crate) fn reactor_loop(shared: Arc<Shared>) {
    let Some(r) = shared.reactor.get() else { return };
    while !shared.shutdown.load(Ordering::SeqCst) {
        r.poll_once(&shared, None);
    }
}
