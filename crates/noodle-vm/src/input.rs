//! Reading standard input into memory that a program sizes (`io.read_line` on a 3 GB line):
//! the buffer grows fallibly, so a line or a stream too large to hold is an error the program
//! can catch (N2010), never an abort.

use std::io::{BufRead, ErrorKind, Read};

fn no_memory(what: &str) -> std::io::Error {
    std::io::Error::new(ErrorKind::OutOfMemory, format!("{what} is too large to hold in memory"))
}

/// Reads up to and including `delim` (or to the end of input) onto `buf`; the number of bytes
/// read. A reader that lends no buffer (`fill_buf` unsupported, as a lock-shared reader) is
/// asked for `read_until` itself, which must then be fallible in the same way.
pub fn read_until(input: &mut dyn BufRead, delim: u8, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::Unsupported && total == 0 => return input.read_until(delim, buf),
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(total);
        }
        let (n, done) = match chunk.iter().position(|&b| b == delim) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.try_reserve(n).map_err(|_| no_memory("the line"))?;
        buf.extend_from_slice(&chunk[..n]);
        input.consume(n);
        total += n;
        if done {
            return Ok(total);
        }
    }
}

/// Reads everything left onto `buf`; the number of bytes read.
pub fn read_to_end(input: &mut dyn Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let start = buf.len();
    let mut chunk = [0u8; 1 << 14];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => return Ok(buf.len() - start),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.try_reserve(n).map_err(|_| no_memory("the input"))?;
        buf.extend_from_slice(&chunk[..n]);
    }
}
