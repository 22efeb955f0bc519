//! The console's accept loop, in place of `axum::serve`, for the limits no slow or
//! broken client may get past:
//! - the first request's head must arrive within `HEADER_TIMEOUT` and stay under the
//!   sizes in `head` (else a page in Chinese: 408, 414, 431); later requests on the
//!   connection have hyper's header timeout, the same 10 s;
//! - a request body must keep arriving: `BODY_IDLE` without a byte ends it
//!   (`idle::IdleBody`), however long the whole upload takes;
//! - shutdown tells every connection to finish its request and close, and waits at
//!   most `SHUTDOWN` for them, whatever the clients do.

mod head;
mod idle;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const BODY_IDLE: Duration = Duration::from_secs(60);
pub const SHUTDOWN: Duration = Duration::from_secs(5);

/// Serves `router` to what `listener` accepts until `stopped` completes, then closes
/// every connection within `SHUTDOWN`.
pub async fn run<L>(mut listener: L, router: Router, stopped: impl std::future::Future<Output = ()>)
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (close, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            (io, peer) = listener.accept() => {
                connections.spawn(connection(io, peer, router.clone(), closing.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut stopped => break,
        }
    }
    drop(listener);
    let _ = close.send(true);
    let open = connections.len();
    let finished = tokio::time::timeout(SHUTDOWN, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(connections = connections.len(), of = open, "控制台停止时仍有连接未结束，{} 秒后已强制关闭", SHUTDOWN.as_secs());
        connections.abort_all();
    }
}

/// One connection: its first head read here, then hyper's HTTP/1.1 with the limits.
async fn connection<I>(mut io: I, peer: SocketAddr, router: Router, mut closing: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let first = tokio::select! {
        r = head::read(&mut io, HEADER_TIMEOUT) => r,
        _ = closing.wait_for(|c| *c) => return,
    };
    let first = match first {
        Ok(bytes) => bytes,
        Err(refused) => {
            tracing::info!(%peer, status = refused.status(), "控制台拒绝请求：{}", refused.message());
            head::answer(&mut io, refused).await;
            return;
        }
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(|body| axum::body::Body::new(idle::IdleBody::new(body, BODY_IDLE)));
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(head::Prefixed::new(first, io)), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = closing.wait_for(|c| *c) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}
