//! A request body that must keep arriving: each piece resets the wait, so a slow
//! multi-GB upload (a 超大附件 file taken in by hand) goes on for as long as it sends,
//! and one that stops sending ends with an error after `idle`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};

pub struct IdleBody<B> {
    inner: B,
    idle: Duration,
    wait: Pin<Box<tokio::time::Sleep>>,
}

impl<B> IdleBody<B> {
    pub fn new(inner: B, idle: Duration) -> IdleBody<B> {
        IdleBody { inner, idle, wait: Box::pin(tokio::time::sleep(idle)) }
    }
}

/// The body stopped arriving for longer than allowed.
#[derive(Debug)]
pub struct Stalled(Duration);

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "请求内容 {} 秒没有送达，连接已断开", self.0.as_secs())
    }
}

impl std::error::Error for Stalled {}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.wait.as_mut().reset(next);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match self.wait.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Stalled(self.idle))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A body that sends a piece every `every` and ends after `pieces`.
    fn dribble(every: Duration, pieces: usize) -> http_body_util::StreamBody<impl futures::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Unpin> {
        let s = futures::stream::unfold(0, move |n| async move {
            if n == pieces {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok(Frame::data(Bytes::from_static(b"x"))), n + 1))
        });
        http_body_util::StreamBody::new(Box::pin(s))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_coming_is_read_whole_however_long_it_takes() {
        let body = IdleBody::new(dribble(Duration::from_secs(20), 10), Duration::from_secs(30));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 10, "200 s in all, never 30 s without a piece");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_coming_ends_in_an_error() {
        let body = IdleBody::new(dribble(Duration::from_secs(40), 3), Duration::from_secs(30));
        let e = body.collect().await.unwrap_err();
        assert!(e.to_string().contains("30 秒"), "{e}");
    }
}
