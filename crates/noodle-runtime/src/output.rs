//! The program's standard streams, shared by every process. Each process writes through its
//! own `ProcOut`, which passes complete lines to the shared stream under a lock, so the lines of
//! two actors never interleave mid-line.

use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};

pub type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

pub struct ProcOut {
    sink: Sink,
    buf: Vec<u8>,
}

impl ProcOut {
    pub fn new(sink: Sink) -> ProcOut {
        ProcOut { sink, buf: Vec::new() }
    }
}

impl Write for ProcOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if let Some(end) = self.buf.iter().rposition(|&c| c == b'\n') {
            let mut s = self.sink.lock().unwrap_or_else(|e| e.into_inner());
            s.write_all(&self.buf[..=end])?;
            self.buf.drain(..=end);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let mut s = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if !self.buf.is_empty() {
            s.write_all(&self.buf)?;
            self.buf.clear();
        }
        s.flush()
    }
}

impl Drop for ProcOut {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard input shared by every process (a line read by one is not seen by another).
pub struct SharedIn(pub Arc<Mutex<Box<dyn BufRead + Send>>>);

impl Read for SharedIn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).read(buf)
    }
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        noodle_vm::input::read_to_end(&mut **self.0.lock().unwrap_or_else(|e| e.into_inner()), buf)
    }
}

impl BufRead for SharedIn {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        // A shared reader cannot lend out its buffer past the lock; callers use `read_until`,
        // `read_line` and `read_to_end`, which this type implements directly.
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "shared input has no buffer"))
    }
    fn consume(&mut self, _: usize) {}
    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        noodle_vm::input::read_until(&mut **self.0.lock().unwrap_or_else(|e| e.into_inner()), byte, buf)
    }
    fn read_line(&mut self, buf: &mut String) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).read_line(buf)
    }
}
