//! Waiting for new mail with IDLE: at most `idle_timeout` (≤ 5 min, because NAT boxes
//! drop quiet connections), then DONE and a fresh pass. Dovecot batches EXISTS
//! notifications by about half a second.

use std::time::Duration;

use tokio::sync::watch;

use super::{ImapError, Session, timed};

/// What ended the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    NewData,
    Timeout,
    Shutdown,
}

/// IDLEs on the selected folder until something happens, the timeout passes or
/// shutdown is asked for. Returns the session, out of IDLE.
pub async fn wait(session: Session, idle_timeout: Duration, op_timeout: Duration, shutdown: &mut watch::Receiver<bool>) -> Result<(Session, Woke), ImapError> {
    // Unsolicited responses queued earlier are stale now.
    while session.unsolicited_responses.try_recv().is_ok() {}
    let mut handle = session.idle();
    timed(op_timeout, handle.init()).await?;
    let woke = {
        let (wait, _interrupt) = handle.wait_with_timeout(idle_timeout);
        tokio::select! {
            r = tokio::time::timeout(idle_timeout, wait) => match r {
                Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => Woke::NewData,
                Ok(Ok(_)) | Err(_) => Woke::Timeout,
                Ok(Err(e)) => return Err(e.into()),
            },
            _ = shutdown.changed() => Woke::Shutdown,
        }
    };
    let session = timed(op_timeout, handle.done()).await?;
    Ok((session, woke))
}
