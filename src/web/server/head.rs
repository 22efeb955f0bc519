//! The head of the first request on a connection, read before hyper sees it, so that
//! the answers hyper would give with an empty body (a URI too long, headers that never
//! end) get a page in Chinese instead. What was read is handed to hyper unchanged, in
//! front of the rest of the stream (`Prefixed`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The longest request line taken: a search box's text fits many times over.
pub const MAX_LINE: usize = 16 * 1024;
/// The longest head (request line and headers) taken.
pub const MAX_HEAD: usize = 64 * 1024;

/// Why a head is refused, each with its status and what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The head did not end within the header timeout.
    TooSlow,
    /// The request line (method, address, version) is longer than `MAX_LINE`.
    LineTooLong,
    /// The headers together are longer than `MAX_HEAD`.
    HeadTooLarge,
}

impl Refused {
    pub fn status(self) -> u16 {
        match self {
            Refused::TooSlow => 408,
            Refused::LineTooLong => 414,
            Refused::HeadTooLarge => 431,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Refused::TooSlow => "Request Timeout",
            Refused::LineTooLong => "URI Too Long",
            Refused::HeadTooLarge => "Request Header Fields Too Large",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refused::TooSlow => "请求发送得太慢，连接已断开。请检查网络后刷新页面重试。",
            Refused::LineTooLong => "网址太长，无法处理。搜索时请输入更短的文字。",
            Refused::HeadTooLarge => "请求头太大，无法处理。请清除本站的 Cookie 后重试。",
        }
    }
}

/// Where the head stands in `buf`: complete (its length), not yet, or refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    Complete,
    More,
    Refused(Refused),
}

/// Looks at what has arrived of a head. Pure: the limits are checked on the bytes.
pub fn scan(buf: &[u8]) -> Scan {
    let line_end = buf.windows(2).position(|w| w == b"\r\n");
    match line_end {
        None if buf.len() > MAX_LINE => return Scan::Refused(Refused::LineTooLong),
        Some(n) if n > MAX_LINE => return Scan::Refused(Refused::LineTooLong),
        _ => {}
    }
    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
        return Scan::Complete;
    }
    if buf.len() > MAX_HEAD {
        return Scan::Refused(Refused::HeadTooLarge);
    }
    Scan::More
}

/// Reads the first request's head from `io` within `timeout`. Returns what was read
/// (the head and perhaps the start of a body), or why it was refused. A client that
/// closes first gives an empty read, which hyper then sees as a closed connection.
pub async fn read<T: AsyncRead + Unpin>(io: &mut T, timeout: Duration) -> Result<Vec<u8>, Refused> {
    let mut buf = Vec::with_capacity(4096);
    let reading = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = io.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            match scan(&buf) {
                Scan::Complete => return Ok(()),
                Scan::More => {}
                Scan::Refused(r) => return Err(r),
            }
        }
    };
    match tokio::time::timeout(timeout, reading).await {
        Ok(Ok(())) => Ok(buf),
        Ok(Err(r)) => Err(r),
        Err(_) => Err(Refused::TooSlow),
    }
}

/// How long, and how much, a refused client's remaining request is read and thrown
/// away after its page (a lingering close, as web servers do): closing a socket with
/// unread bytes makes the kernel reset the connection, and the client (still sending
/// its 90 KB address) then sees "connection reset" instead of the page.
pub const LINGER: Duration = Duration::from_secs(2);
pub const LINGER_BYTES: usize = 1 << 20;

/// Answers a refused head with a small page in Chinese, closes the sending side and
/// reads what the client still sends, within `LINGER` and `LINGER_BYTES`.
pub async fn answer<T: AsyncRead + AsyncWrite + Unpin>(io: &mut T, r: Refused) {
    let body = super::super::page_html("无法处理这个请求", r.message());
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        r.status(),
        r.reason(),
        body.len()
    );
    let _ = io.write_all(head.as_bytes()).await;
    let _ = io.write_all(body.as_bytes()).await;
    let _ = io.shutdown().await;
    let draining = async {
        let mut chunk = [0u8; 8192];
        let mut read = 0;
        while read < LINGER_BYTES {
            match io.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, draining).await;
}

/// A stream with bytes already read from it put back in front.
pub struct Prefixed<T> {
    front: Vec<u8>,
    at: usize,
    inner: T,
}

impl<T> Prefixed<T> {
    pub fn new(front: Vec<u8>, inner: T) -> Prefixed<T> {
        Prefixed { front, at: 0, inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.at < self.front.len() {
            let n = out.remaining().min(self.front.len() - self.at);
            let at = self.at;
            out.put_slice(&self.front[at..at + n]);
            self.at += n;
            if self.at == self.front.len() {
                self.front = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_complete_at_its_blank_line_and_refused_past_the_limits() {
        assert_eq!(scan(b"GET / HTTP/1.1\r\nHost: a\r\n"), Scan::More);
        assert_eq!(scan(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Scan::Complete);
        let long = format!("GET /search?q={} HTTP/1.1\r\n", "字".repeat(MAX_LINE));
        assert_eq!(scan(long.as_bytes()), Scan::Refused(Refused::LineTooLong));
        assert_eq!(scan(&long.as_bytes()[..MAX_LINE + 1]), Scan::Refused(Refused::LineTooLong), "before the line ends");
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() <= MAX_HEAD {
            big.extend_from_slice(b"Cookie: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(scan(&big), Scan::Refused(Refused::HeadTooLarge));
    }

    #[tokio::test]
    async fn what_was_read_comes_first_and_the_rest_follows() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"GET / HTTP/1.1\r\n\r\nbody").await.unwrap();
        drop(a);
        let mut b = b;
        let head = read(&mut b, Duration::from_secs(1)).await.unwrap();
        let mut p = Prefixed::new(head, b);
        let mut all = String::new();
        p.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "GET / HTTP/1.1\r\n\r\nbody");
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_never_ends_is_too_slow() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(b"GET / HTTP/1.1\r\nHost:").await.unwrap();
        assert_eq!(read(&mut b, Duration::from_secs(10)).await, Err(Refused::TooSlow));
    }
}
