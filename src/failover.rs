//! `baosong run` on several machines over one PostgreSQL database: exactly one reads
//! the mailbox, runs the daily jobs and sends the outbox; the others stand by and
//! take over when it is gone (`db::writer_lock` says how fast, and why safely). Each
//! instance serves the console the whole time, standing by or not.
//!
//! A holder that loses its lock session stops at once: its intake, workers, link
//! downloads and outbox are dropped mid-way, as kill -9 would stop them (nothing
//! uncommitted counts, and a mail caught between the server's 250 and `sent` is
//! sent again by the next holder). It then stands by again, like the others.
//!
//! On taking over, the new holder brings the browsable tree in line with the books
//! before it reads mail (`active` starts with it), so the tree on its disk is right
//! whichever machine held the lock before.

use std::future::Future;

use tokio::sync::watch;
use tracing::{error, info};

use crate::db::Db;
use crate::db::writer_lock::{self, Taken};

/// Runs `active` while this instance holds the database's writer lock, standing by
/// while another holds it, until `shutdown` turns true or `active` ends.
pub async fn lead<F, Fut>(db: &Db, url: &str, mut shutdown: watch::Receiver<bool>, mut active: F) -> anyhow::Result<()>
where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    loop {
        let (lock, taken) = match writer_lock::wait(db, url, &mut shutdown).await {
            Ok(Some(held)) => held,
            Ok(None) => return Ok(()),
            // Lost again while waiting out the fence: stand by again.
            Err(e) => {
                error!(error = %format!("{e:#}"), "接手未成，继续待命");
                continue;
            }
        };
        match taken {
            Taken::Free => info!("已取得数据库写入锁，本实例负责收件、通知和发信"),
            Taken::Over => info!("已接手收件：本实例负责收件、通知和发信"),
        }
        // What the last holder was analysing is taken at once, not after its lease.
        if let Err(e) = crate::db::journal::release_writers(db).await {
            error!(error = %format!("{e:#}"), "无法放开上一个收件实例领取的邮件；租约过后照常处理");
        }
        tokio::select! {
            ended = active(shutdown.clone()) => return ended,
            why = lock.lost() => {
                error!(reason = %why, "失去数据库写入锁：已停止收件、通知和发信，转为待命，由持锁的实例继续");
            }
        }
    }
}
