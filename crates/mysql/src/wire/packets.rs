//! MySQL packet framing over a blocking TCP stream, with one reused read buffer.
//!
//! A packet is a 3-byte little-endian length, a sequence id and the payload; a payload of
//! 16 MiB − 1 bytes or more is split into several packets. [`PacketIo::next_packet`] returns each
//! payload as a slice of the read buffer (no copy, no allocation) unless it was split, in which
//! case the parts are joined in a second reused buffer.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The largest payload one packet carries; a payload this long continues in the next packet.
pub(crate) const MAX_PAYLOAD: usize = 0xFF_FFFF;

/// The read buffer's starting size: large enough that a read brings in hundreds of rows.
const READ_BUFFER: usize = 1 << 20;

pub(crate) struct PacketIo {
    /// Shared only with [`super::Interrupter`]s, which hold it weakly: the socket closes when
    /// the connection is dropped.
    stream: std::sync::Arc<TcpStream>,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Where split payloads are joined.
    joined: Vec<u8>,
    /// The sequence id the next packet (read or written) must carry.
    seq: u8,
    /// Bytes read from the socket so far.
    bytes_read: u64,
    /// Bytes written to the socket so far.
    bytes_written: u64,
    /// Whether time spent in socket calls is measured (two clock reads per call).
    timed: bool,
    /// Time spent in socket reads and writes so far, when `timed`.
    wait_nanos: u64,
    /// Where small packets are assembled before they are written.
    out: Vec<u8>,
}

impl PacketIo {
    pub(crate) fn new(stream: TcpStream) -> PacketIo {
        PacketIo {
            stream: std::sync::Arc::new(stream),
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            joined: Vec::new(),
            seq: 0,
            bytes_read: 0,
            bytes_written: 0,
            timed: false,
            wait_nanos: 0,
            out: Vec::new(),
        }
    }

    /// Starts a new command: the next packet written has sequence id 0.
    pub(crate) fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Bytes read from the server so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes written to the server so far.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Starts or stops measuring the time spent in socket calls.
    pub(crate) fn set_timed(&mut self, on: bool) {
        self.timed = on;
    }

    /// Time spent in socket calls while measured, in nanoseconds.
    pub(crate) fn wait_nanos(&self) -> u64 {
        self.wait_nanos
    }

    /// The next payload.
    pub(crate) fn next_packet(&mut self) -> io::Result<&[u8]> {
        let (start, len) = self.next_physical()?;
        if len < MAX_PAYLOAD {
            return Ok(&self.buf[start..start + len]);
        }
        self.joined.clear();
        self.joined.extend_from_slice(&self.buf[start..start + len]);
        loop {
            let (start, len) = self.next_physical()?;
            self.joined.extend_from_slice(&self.buf[start..start + len]);
            if len < MAX_PAYLOAD {
                return Ok(&self.joined);
            }
        }
    }

    /// Reads one physical packet; returns where its payload is in `buf`.
    fn next_physical(&mut self) -> io::Result<(usize, usize)> {
        loop {
            let available = self.end - self.start;
            if available >= 4 {
                let header = &self.buf[self.start..self.start + 4];
                let len = usize::from(header[0])
                    | usize::from(header[1]) << 8
                    | usize::from(header[2]) << 16;
                let seq = header[3];
                if available >= 4 + len {
                    if seq != self.seq {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "packet out of order: sequence id {seq}, expected {}",
                                self.seq
                            ),
                        ));
                    }
                    self.seq = self.seq.wrapping_add(1);
                    let payload = self.start + 4;
                    self.start = payload + len;
                    return Ok((payload, len));
                }
                self.fill(4 + len)?;
            } else {
                self.fill(4)?;
            }
        }
    }

    /// Reads until at least `needed` unconsumed bytes are buffered, making room first.
    fn fill(&mut self, needed: usize) -> io::Result<()> {
        if self.buf.len() - self.start < needed {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < needed {
                self.buf.resize(needed.next_power_of_two(), 0);
            }
        }
        while self.end - self.start < needed {
            let (mut stream, buf, end) = (&*self.stream, &mut self.buf, self.end);
            let read = socket_call(self.timed, &mut self.wait_nanos, || {
                stream.read(&mut buf[end..])
            })?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            self.end += read;
            self.bytes_read += read as u64;
        }
        Ok(())
    }

    /// Writes `payload` as one logical packet (split as the protocol requires: a part of exactly
    /// [`MAX_PAYLOAD`] bytes says "more follows", so such a payload ends with an empty part).
    pub(crate) fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
        if payload.is_empty() {
            self.write_physical(&[])?;
        }
        while let Some(chunk) = chunks.next() {
            self.write_physical(chunk)?;
            if chunks.peek().is_none() && chunk.len() == MAX_PAYLOAD {
                self.write_physical(&[])?;
            }
        }
        Ok(())
    }

    /// Writes `data` as packets that each stand alone (each shorter than [`MAX_PAYLOAD`]): the
    /// content of a `LOAD DATA LOCAL` file, which the server reads until an empty packet.
    pub(crate) fn send_data(&mut self, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(MAX_PAYLOAD - 1) {
            self.write_physical(chunk)?;
        }
        Ok(())
    }

    /// A weak handle on the socket, for [`super::Interrupter`].
    pub(crate) fn weak_stream(&self) -> std::sync::Weak<TcpStream> {
        std::sync::Arc::downgrade(&self.stream)
    }

    /// Closes the socket in both directions: the server sees the connection end mid-command.
    pub(crate) fn abort(&mut self) {
        // Nothing to do if it fails: the socket is being given up either way.
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// Writes one physical packet: small ones as one write from a reused buffer, large ones as
    /// the header and then the payload itself, so the payload is never copied.
    pub(crate) fn write_physical(&mut self, chunk: &[u8]) -> io::Result<()> {
        /// Payloads up to this size are copied behind their header and written at once.
        const SMALL_PACKET: usize = 64 << 10;
        let len = u32::try_from(chunk.len())
            .expect("a chunk is below 16 MiB")
            .to_le_bytes();
        let header = [len[0], len[1], len[2], self.seq];
        self.seq = self.seq.wrapping_add(1);
        self.bytes_written += 4 + chunk.len() as u64;
        if chunk.len() <= SMALL_PACKET {
            self.out.clear();
            self.out.extend_from_slice(&header);
            self.out.extend_from_slice(chunk);
            let (mut stream, out) = (&*self.stream, &self.out);
            socket_call(self.timed, &mut self.wait_nanos, || stream.write_all(out))
        } else {
            let mut stream = &*self.stream;
            socket_call(self.timed, &mut self.wait_nanos, || {
                stream.write_all(&header)?;
                stream.write_all(chunk)
            })
        }
    }
}

/// Runs one socket call, adding the time it took to `total` when `timed` (two clock reads per
/// call, a call moving up to a buffer's worth of bytes: nothing per row).
#[inline]
fn socket_call<T>(timed: bool, total: &mut u64, call: impl FnOnce() -> T) -> T {
    if !timed {
        return call();
    }
    let start = std::time::Instant::now();
    let out = call();
    *total += nanos_since(start);
    out
}

/// Nanoseconds since `start` (saturating at 584 years): the unit of every measured wait.
pub(crate) fn nanos_since(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl PacketIo {
    /// Sets the socket's read timeout (`None`: wait as long as the server takes).
    pub(crate) fn set_read_timeout(
        &mut self,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }
}
