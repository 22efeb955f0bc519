//! Analysis from the journal. Entries due now are claimed for a lease
//! (`db::journal::claim`), analysed by a pool of blocking threads (two more than the
//! cores, `in_flight`, and never more raw mail in analysis at once than
//! `ANALYSIS_BUDGET`), and recorded one by one in journal order, so that where order
//! decides an outcome (a department's second package after the deadline rolls over
//! to the next month; the first sender of a shared work gets the credit) receipt
//! order holds.
//!
//! That order holds across every worker of every process on the database: analysis
//! runs in parallel, but an entry is decided and written only once no older entry
//! that is due is still queued (`wait_turn`). An older one that another worker holds
//! is waited for; one nobody holds (its worker died and its lease ran out) is taken
//! over and finished first, here. Each worker takes its entries oldest first, so the
//! oldest one queued is always being worked on, and nobody waits in a circle.
//!
//! An entry whose analysis fails is tried again later with growing waits, and
//! nothing behind it waits for it meanwhile; after `MAX_TRIES` its message is
//! recorded as failed with the error.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::{info, warn};

use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use crate::db::{self, journal::{Ahead, Entry, LostClaim}};
use crate::pipeline::{self, Outcome};

/// Tries before a message is recorded as failed.
pub const MAX_TRIES: i64 = 3;
/// Entries claimed at a time.
const BATCH: i64 = 64;
/// MiB of raw mail under analysis at once (a larger message runs alone).
const ANALYSIS_BUDGET: u32 = 96;

/// The wait before try `tries + 1`: 1 s, 2 s, 4 s … (at most about 2 min).
pub fn retry_wait(tries: i64) -> i64 {
    1i64 << tries.clamp(0, 8).saturating_sub(1).min(8)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How many analyses run at once: one per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How many messages are in analysis at once: two more than the cores, so that the
/// cores stay busy while an analysis waits for the disk (every stored file is fsynced)
/// or for the message before it to be recorded. With one per core, `poll --once` kept
/// the 2 cores about 80 % busy on the bench's 200 packages; two more took it from 6.3–
/// 6.9 s to 5.7–6.0 s (README, benchmarks). Memory stays bounded by `ANALYSIS_BUDGET`.
fn in_flight() -> usize {
    workers() + 2
}

/// Analyses and records what is due. With `until_empty`, also waits for entries
/// that are waiting for a retry, until the journal is empty (for `import` and
/// `poll --once`). Stops between entries when `shutdown` turns true. `each` sees
/// every entry's result: an outcome, or the error of a try that will be repeated.
pub async fn drain(
    config: &Config, db: &Db, store: &Store,
    until_empty: bool,
    shutdown: &watch::Receiver<bool>,
    each: &mut (dyn FnMut(&Entry, &anyhow::Result<Outcome>) + Send),
) -> anyhow::Result<usize> {
    let budget = Arc::new(Semaphore::new(ANALYSIS_BUDGET as usize));
    let mut handled = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let batch = db::journal::claim(db, now(), BATCH).await?;
        if batch.is_empty() {
            let next = if until_empty { db::journal::next_retry_at(db).await? } else { None };
            let Some(at) = next else { break };
            let wait = Duration::from_secs((at - now()).clamp(0, 300) as u64).max(Duration::from_millis(200));
            let mut stop = shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => break,
            }
            continue;
        }
        handled += batch.len();
        process(config, db, store, batch, &budget, shutdown, each).await?;
    }
    Ok(handled)
}

/// Analyses `batch` concurrently and records it in order, renewing its lease
/// meanwhile.
async fn process(
    config: &Config, db: &Db, store: &Store,
    batch: Vec<Entry>,
    budget: &Arc<Semaphore>,
    shutdown: &watch::Receiver<bool>,
    each: &mut (dyn FnMut(&Entry, &anyhow::Result<Outcome>) + Send),
) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(workers());
    let producer = async move {
        let mut prepared = futures::stream::iter(batch)
            .map(|e| async move {
                let r = prepare(config, db, store, &e, budget).await;
                (e, r)
            })
            .buffered(in_flight());
        while let Some(done) = prepared.next().await {
            if *shutdown.borrow() || tx.send(done).await.is_err() {
                break;
            }
        }
    };
    let consumer = async move {
        // Owned here, so that the producer stops as soon as this stops.
        let mut rx = rx;
        while let Some((entry, prepared)) = rx.recv().await {
            Box::pin(wait_turn(config, db, store, entry.id, budget, each)).await?;
            Box::pin(finish(config, db, store, &entry, prepared, each)).await?;
            if *shutdown.borrow() {
                break;
            }
        }
        Ok::<(), anyhow::Error>(())
    };
    let renew = async {
        loop {
            tokio::time::sleep(db::journal::RENEW_EVERY).await;
            if let Err(e) = db::journal::renew(db).await {
                warn!(error = %format!("{e:#}"), "无法续租正在处理的邮件");
            }
        }
    };
    tokio::select! {
        ((), consumed) = async { tokio::join!(producer, consumer) } => consumed,
        () = renew => unreachable!("renews until the batch is done"),
    }
}

/// How often an entry waiting for an older one held by another worker looks again.
const TURN_POLL: Duration = Duration::from_millis(100);

/// Returns once no entry older than `id` that is due is still queued, finishing here
/// the older ones nobody holds (see the module's comment).
async fn wait_turn(
    config: &Config, db: &Db, store: &Store,
    id: i64,
    budget: &Arc<Semaphore>,
    each: &mut (dyn FnMut(&Entry, &anyhow::Result<Outcome>) + Send),
) -> anyhow::Result<()> {
    loop {
        match db::journal::ahead(db, id, now()).await? {
            Ahead::Clear => return Ok(()),
            Ahead::Held(_) => tokio::time::sleep(TURN_POLL).await,
            Ahead::Taken(older) => {
                info!(entry = older.id, "接手一封无人处理的较早邮件，先处理它");
                // Boxed: an analysis's future is large, and this one sits inside another's.
                let prepared = Box::pin(prepare(config, db, store, &older, budget)).await;
                Box::pin(finish(config, db, store, &older, prepared, each)).await?;
            }
        }
    }
}

/// Decides and writes one analysed entry, or counts its failed try; `each` sees the
/// result. An entry another worker took over meanwhile is left to it.
async fn finish(
    config: &Config, db: &Db, store: &Store,
    entry: &Entry,
    prepared: anyhow::Result<pipeline::Prepared>,
    each: &mut (dyn FnMut(&Entry, &anyhow::Result<Outcome>) + Send),
) -> anyhow::Result<()> {
    let committed = match prepared {
        Ok(p) => pipeline::commit(config, db, store, p).await,
        Err(e) => Err(e),
    };
    let result = match committed {
        Ok(o) => Ok(o),
        Err(e) => match failed_try(db, store, entry, e).await {
            Ok(r) => r,
            Err(e) if e.downcast_ref::<LostClaim>().is_some() => {
                info!(entry = entry.id, "此邮件已由其他处理进程接手，本进程的结果作废");
                return Ok(());
            }
            Err(e) => return Err(e),
        },
    };
    each(entry, &result);
    Ok(())
}

/// Analyses an entry's raw mail, within the memory budget. A large message is read
/// as a skeleton with its attachments streamed from the file (`parse::mail`), so it
/// is charged as much as the largest message read whole, not its size.
async fn prepare(config: &Config, db: &Db, store: &Store, e: &Entry, budget: &Arc<Semaphore>) -> anyhow::Result<pipeline::Prepared> {
    // A worker on another machine than the reader downloads the raw mail from the object store first.
    let (s, rel) = (store.clone(), e.raw_path.clone());
    let raw = tokio::task::spawn_blocking(move || s.local(&rel)).await.context("读取原始邮件的线程异常退出")?;
    let size = raw.and_then(std::fs::metadata).with_context(|| format!("无法读取原始邮件 {}", e.raw_path))?.len();
    let mib = u32::try_from(size.min(2 * crate::parse::mail::WHOLE_UP_TO) >> 20).unwrap_or(u32::MAX).clamp(1, ANALYSIS_BUDGET);
    let _permit = budget.acquire_many(mib).await.context("分析队列已关闭")?;
    if e.redo != 0 {
        return Ok(pipeline::prepare_redo(config, db, store, e.message_ref, now()).await?.journaled(e.id));
    }
    pipeline::prepare_queued(config, db, store, e, now()).await
}

/// Counts a failed try. While tries remain the entry waits and the error is the
/// result; after the last, the message is recorded as failed and that is the result.
async fn failed_try(db: &Db, store: &Store, e: &Entry, error: anyhow::Error) -> anyhow::Result<anyhow::Result<Outcome>> {
    if let Some(lost) = error.downcast_ref::<LostClaim>() {
        return Err(LostClaim(lost.0).into());
    }
    let text = format!("{error:#}");
    let tries = db::journal::retry_later(db, e.id, &text, now() + retry_wait(e.tries + 1)).await?;
    if tries < MAX_TRIES {
        warn!(source = %e.source, tries, error = %text, "处理失败，稍后重试");
        return Ok(Err(error));
    }
    if e.redo != 0 {
        // Deciding a recorded message again failed every time: it stays as recorded.
        warn!(message = e.message_ref, tries, error = %text, "重新处理多次失败，该邮件保持原样");
        db::journal::give_up(db, e.id).await?;
        return Ok(Err(error));
    }
    Ok(Ok(pipeline::record_failed(db, store, e, &format!("试了 {tries} 次：{text}"), now()).await?))
}

/// The daemon's worker loop: drains whenever `wake` is notified (after mail is
/// queued), when a retry falls due, and once at start (what a crash left queued);
/// with `poll`, also that often (`baosong worker`, whom another process's intake
/// cannot wake). Each of `ingested` is notified after mail was recorded (receipts,
/// link downloads).
pub async fn run(config: &Config, db: &Db, store: &Store, wake: &Notify, mut shutdown: watch::Receiver<bool>, ingested: &[&Notify], poll: Option<Duration>) -> anyhow::Result<()> {
    loop {
        let mut recorded = 0;
        let done = drain(config, db, store, false, &shutdown, &mut |_, r| recorded += usize::from(r.is_ok())).await;
        match done {
            Ok(n) if n > 0 => {
                info!(recorded, "分析完成");
                for n in ingested {
                    n.notify_one();
                }
            }
            Ok(_) => {}
            Err(e) => warn!(error = %format!("{e:#}"), "分析队列出错，稍后重试"),
        }
        give_back_memory();
        let retry = db::journal::next_retry_at(db).await.ok().flatten().map_or(Duration::from_secs(300), |at| Duration::from_secs((at - now()).clamp(1, 300) as u64));
        let retry = poll.map_or(retry, |p| p.min(retry));
        let waiting = tokio::time::sleep(retry);
        tokio::pin!(waiting);
        let mut idle = false;
        loop {
            tokio::select! {
                _ = wake.notified() => break,
                _ = &mut waiting => break,
                _ = shutdown.changed() => return Ok(()),
                // The database pool has closed its idle connections by then (within
                // 40 s, `db::Db::open`); what they held goes back too, and so does the
                // code analysis ran.
                _ = tokio::time::sleep(Duration::from_secs(45)), if !idle => {
                    give_back_memory();
                    give_back_code();
                    idle = true;
                }
            }
        }
        if *shutdown.borrow() {
            return Ok(());
        }
    }
}

/// Hands the heap that analysis grew back to the system before the daemon waits: the
/// allocator keeps freed pages otherwise, and an idle daemon would hold the peak of
/// its last message for hours.
fn give_back_memory() {
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hands back the program's own code once the daemon has waited a while. The pages of
/// the binary that analysis ran (about 19 MiB of it after 200 packages) stay resident
/// otherwise, for the weeks nothing runs them. They are clean copies of the file: the
/// kernel drops them (`MADV_PAGEOUT`, Linux 5.4 and later; older kernels ignore it),
/// and the next mail reads them back from the page cache or the disk in milliseconds.
/// Only read-only mappings of the executable itself are touched.
fn give_back_code() {
    let (Ok(exe), Ok(maps)) = (std::fs::read_link("/proc/self/exe"), std::fs::read_to_string("/proc/self/maps")) else { return };
    for (start, end) in code_ranges(&maps, &exe.to_string_lossy()) {
        // SAFETY: the range is a whole mapping of this process, read-only and backed by
        // the executable; MADV_PAGEOUT only drops its resident pages, which the kernel
        // reads back from the file on the next access. Its content never changes.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
        }
    }
}

/// The address ranges of `/proc/self/maps` that map file `exe` without write access.
fn code_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            let path = f.nth(3)?;
            if path != exe || perms.contains('w') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time() {
        assert_eq!((1..=4).map(retry_wait).collect::<Vec<_>>(), [1, 2, 4, 8]);
        assert_eq!(retry_wait(50), 128);
    }

    #[test]
    fn only_read_only_mappings_of_the_program_are_code() {
        let maps = "55d0a0000000-55d0a0100000 r--p 00000000 08:01 42 /opt/baosong/bin/baosong\n\
                    55d0a0100000-55d0a1000000 r-xp 00100000 08:01 42 /opt/baosong/bin/baosong\n\
                    55d0a1000000-55d0a1010000 rw-p 01000000 08:01 42 /opt/baosong/bin/baosong\n\
                    7f0000000000-7f0000200000 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
                    7f0000300000-7f0000400000 rw-p 00000000 00:00 0 \n\
                    7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";
        assert_eq!(code_ranges(maps, "/opt/baosong/bin/baosong"), [(0x55d0a0000000, 0x55d0a0100000), (0x55d0a0100000, 0x55d0a1000000)]);
        assert!(code_ranges(maps, "/usr/bin/other").is_empty());
    }

    /// The resident KiB of this process's mappings of its own executable.
    fn resident_code_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap().to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let (mut ours, mut kib) = (false, 0);
        for line in smaps.lines() {
            if let Some(rss) = line.strip_prefix("Rss:") {
                if ours {
                    kib += rss.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
                }
            } else if line.split_whitespace().next().is_some_and(|f| f.contains('-') && f.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')) {
                ours = line.split_whitespace().nth(5) == Some(exe.as_str()) && !line.split_whitespace().nth(1).unwrap_or("").contains('w');
            }
        }
        kib
    }

    #[test]
    fn an_idle_daemon_hands_its_code_back() {
        let before = resident_code_kib();
        assert!(before > 1024, "the test program runs from {before} KiB of its code");
        give_back_code();
        let after = resident_code_kib();
        assert!(after < before / 2, "resident code {before} KiB before, {after} KiB after");
    }
}
