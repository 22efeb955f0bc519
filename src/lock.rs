//! One writer per data directory: `run`, `poll`, `import` (and later `reprocess`) hold
//! an exclusive flock on `data/lock` for as long as they run; database migrations run
//! under a second, short lock (`data/migrate.lock`), one process at a time. The lock file names its holder (PID, command, start time),
//! so a second writer can say in Chinese who is in the way. The kernel drops a flock
//! when its process dies, kill -9 included, so a stale file never blocks anyone.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// An exclusive hold on a data directory, released when dropped.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

/// Another process holds the lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "数据目录 {dir} 正被另一个 baosong 进程使用：{holder}。同一数据目录同一时间只能有一个收件或导入进程（run、poll、import）；\
     请等它结束，或先停止它（systemctl stop baosong）再试。查看报表、审核等命令不受影响。"
)]
pub struct Busy {
    pub dir: String,
    pub holder: String,
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("lock")
}

fn open(data_dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(data_dir)?;
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(lock_path(data_dir))
}

fn try_flock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(false) } else { Err(e) }
}

impl WriterLock {
    /// Takes the lock for `command` or says who holds it.
    pub fn acquire(data_dir: &Path, command: &str, now: i64) -> anyhow::Result<WriterLock> {
        let mut file = open(data_dir).map_err(|e| anyhow::anyhow!("无法创建锁文件 {}：{e}", lock_path(data_dir).display()))?;
        if !try_flock(&file)? {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = describe(holder.trim());
            return Err(Busy { dir: data_dir.display().to_string(), holder }.into());
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "pid={} command={command} since={now}", std::process::id())?;
        file.sync_all()?;
        Ok(WriterLock { file, path: lock_path(data_dir) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor we own; closing it would release it anyway.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// Held while the database schema is brought up to date, by whichever process opens
/// the database (a writer at its start, a reading command beside a running daemon):
/// migrations never run twice at once. Waits for another process's migration.
#[derive(Debug)]
pub struct MigrationLock {
    file: File,
}

impl MigrationLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<MigrationLock> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("migrate.lock");
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| anyhow::anyhow!("无法创建锁文件 {}：{e}", path.display()))?;
        // SAFETY: a blocking flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(anyhow::anyhow!("无法锁定 {}：{}", path.display(), std::io::Error::last_os_error()));
        }
        Ok(MigrationLock { file })
    }
}

impl Drop for MigrationLock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor we own.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// "pid=12 command=run since=1711000000" → "进程 12（baosong run，自 2024-03-21 13:46 起）".
fn describe(line: &str) -> String {
    let field = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}="))).map(str::to_string);
    let Some(pid) = field("pid") else { return "未知进程".into() };
    let command = field("command").unwrap_or_default();
    let since = field("since")
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    format!("进程 {pid}（baosong {command}{}）", if since.is_empty() { String::new() } else { format!("，自 {since} 起") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let held = WriterLock::acquire(dir.path(), "run", 1_711_000_000).unwrap();
        // flock locks belong to the open file description: a second open in the same
        // process conflicts just as another process would.
        let err = WriterLock::acquire(dir.path(), "import", 1_711_000_100).unwrap_err().to_string();
        assert!(err.contains(&format!("进程 {}（baosong run，自 ", std::process::id())), "{err}");
        assert!(err.contains("同一数据目录同一时间只能有一个收件或导入进程"), "{err}");
        drop(held);
        assert!(WriterLock::acquire(dir.path(), "import", 1_711_000_200).is_ok(), "released when dropped");
    }
}
