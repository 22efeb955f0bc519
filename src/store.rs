//! Files on disk: content-addressed blobs (`blobs/ab/cd/<sha256>`), raw mail
//! (`raw/ab/<sha256>.eml`) and the browsable tree (`tree/2024-03/单位/①党的建设/名称`),
//! whose entries are hard links to blobs (copies where links fail). Stored files are
//! read-only for everyone (0444) and directories 0755: office staff open the tree from
//! a Samba share, and since a tree entry is the archived blob itself, nobody may write
//! to it. Temporary files live in `tmp/` and nowhere else.
//!
//! With an object store (`[storage] backend = "s3"`, `remote`), the archive is the
//! bucket: every blob, raw mail, original, thumbnail and rendition written here is
//! uploaded under its relative path before the write returns, so nothing is recorded
//! that the bucket lacks. The data directory then holds the tree, `tmp/` and a cache:
//! a file another machine wrote is downloaded the first time it is read ([`Store::local`]),
//! which is how the instance that holds the reader lock fills its tree.

pub mod remote;
mod s3_http;

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use remote::Remote;

/// Mode of every stored file: anyone may read, nobody may write (root aside).
pub const FILE_MODE: u32 = 0o444;
/// Mode of every directory of the store the staff browse.
pub const DIR_MODE: u32 = 0o755;
/// A temporary file older than this is a leftover of a crash (kill -9, power loss) and
/// is removed when a store is opened. Younger ones may belong to a process still
/// running (the daemon while `import` starts): none of them lives this long, since a
/// temporary file exists only while one message is fetched or one file is written.
/// Deleting one by mistake would only fail that write (retried later), never lose data.
pub const STALE_TMP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    /// Reads, but writes, links and removes nothing (`reprocess --dry-run`).
    dry: bool,
    /// This store's own folder under `tmp/`, where all its temporary files go.
    scratch: std::sync::Arc<Scratch>,
    /// The object store that holds the archive, when there is one.
    remote: Option<std::sync::Arc<Remote>>,
}

/// A folder of `tmp/` that one live store owns: `tmp/proc-<pid>-<random>/`, whose
/// `.lock` it holds with a shared flock for as long as it lives, and which it removes
/// when it goes. A process killed with -9 leaves its folder behind with the lock
/// released; the next writer removes every folder whose lock nobody holds
/// (`Store::remove_leftovers`), whatever its age, and never one a live process holds
/// (the console receiving an upload, a dry run's scratch database).
#[derive(Debug)]
struct Scratch {
    dir: PathBuf,
    _lock: fs::File,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Prefix of every store's own folder in `tmp/`.
const SCRATCH_PREFIX: &str = "proc-";

/// Takes `file`'s flock: shared or exclusive, never waiting. False when someone else
/// holds it in a way that conflicts.
fn try_flock(file: &fs::File, exclusive: bool) -> bool {
    use std::os::fd::AsRawFd;
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH } | libc::LOCK_NB;
    // SAFETY: flock on a descriptor this File owns.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

impl Store {
    /// Opens (creating) the store, with a temporary folder of its own, and removes
    /// loose temporary files older than [`STALE_TMP`].
    pub fn open(data_dir: &Path) -> io::Result<Store> {
        for sub in ["blobs", "raw", "tree", "thumbs"] {
            make_dirs(&data_dir.join(sub), DIR_MODE)?;
        }
        let tmp = data_dir.join("tmp");
        make_dirs(&tmp, 0o700)?;
        let dir = tmp.join(format!("{SCRATCH_PREFIX}{}-{:08x}", std::process::id(), fastrand::u32(..)));
        fs::create_dir(&dir)?;
        let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(".lock"))?;
        if !try_flock(&lock, false) {
            return Err(io::Error::other("无法锁定临时目录"));
        }
        let store = Store { root: data_dir.to_path_buf(), dry: false, scratch: std::sync::Arc::new(Scratch { dir, _lock: lock }), remote: None };
        if let Err(e) = store.clean_tmp(STALE_TMP) {
            tracing::warn!(error = %e, "无法清理临时目录 tmp");
        }
        Ok(store)
    }

    /// Removes what dead processes left in `tmp/`: every store folder whose lock nobody
    /// holds, whatever its age. Kept: live processes' folders, and `tmp/links/` (partial
    /// 超大附件 downloads, resumed on the next try). Called by the data directory's one
    /// writer at start, under its lock. Returns how many folders went.
    pub fn remove_leftovers(&self) -> io::Result<usize> {
        let mut removed = 0;
        for e in fs::read_dir(self.tmp_root())? {
            let e = e?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(SCRATCH_PREFIX) || e.path() == self.scratch.dir || !e.file_type()?.is_dir() {
                continue;
            }
            let dead = match fs::OpenOptions::new().write(true).open(e.path().join(".lock")) {
                Ok(f) => try_flock(&f, true),
                // A folder without its lock file is not being used by anyone.
                Err(err) if err.kind() == io::ErrorKind::NotFound => true,
                Err(err) => return Err(err),
            };
            if dead {
                match fs::remove_dir_all(e.path()) {
                    Ok(()) => removed += 1,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(removed)
    }

    /// The same store, with its archive in `remote`.
    pub fn with_remote(self, remote: Remote) -> Store {
        Store { remote: Some(std::sync::Arc::new(remote)), ..self }
    }

    /// The object store that holds the archive, if any.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_deref()
    }

    /// The local path of the archived file `rel`, downloading it from the object store
    /// first when this machine has no copy (a file another instance wrote). Without an
    /// object store, the path under the data directory, there or not.
    pub fn local(&self, rel: &str) -> io::Result<PathBuf> {
        let dest = self.root.join(rel);
        let Some(remote) = &self.remote else { return Ok(dest) };
        if dest.is_file() {
            return Ok(dest);
        }
        let tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())?;
        if !remote.download(rel, tmp.path())? {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("对象存储 {} 中没有 {rel}", remote.shown)));
        }
        tmp.as_file().set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        make_dirs(dest.parent().ok_or_else(|| io::Error::other("blob path without parent"))?, DIR_MODE)?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        Ok(dest)
    }

    /// Sends the local file at `rel` to the object store, if there is one. Without
    /// `overwrite` a key already there is kept: keys are content hashes.
    fn upload(&self, rel: &str, overwrite: bool) -> io::Result<()> {
        match &self.remote {
            Some(remote) if !self.dry => remote.upload(rel, &self.root.join(rel), overwrite).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// The SHA-256 (hex) of the archived file `rel`: the object store's copy when there
    /// is one (streamed, not kept), else the file on disk.
    pub fn hash_archived(&self, rel: &str) -> io::Result<String> {
        match &self.remote {
            Some(remote) => remote.hash(rel)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("对象存储 {} 中没有 {rel}", remote.shown))),
            None => self.hash_file(rel),
        }
    }

    /// Removes an archived file nothing refers to: from the object store as well.
    pub fn remove_archived(&self, rel: &str) -> io::Result<()> {
        self.remove(rel)?;
        match &self.remote {
            Some(remote) if !self.dry => remote.delete(rel),
            _ => Ok(()),
        }
    }

    /// The same store, for a dry run: every read works, every change is skipped.
    pub fn dry(&self) -> Store {
        Store { dry: true, ..self.clone() }
    }

    /// Removes a stored file that nothing refers to any more.
    pub fn remove(&self, rel: &str) -> io::Result<()> {
        if self.dry {
            return Ok(());
        }
        match fs::remove_file(self.root.join(rel)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Where this store's temporary files go: its own folder of `data/tmp`.
    pub fn tmp_dir(&self) -> PathBuf {
        self.scratch.dir.clone()
    }

    fn tmp_root(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where partial 超大附件 downloads wait to be resumed: `data/tmp/links`, shared by
    /// the processes that download (one writer at a time), kept across restarts.
    pub fn links_dir(&self) -> PathBuf {
        self.tmp_root().join("links")
    }

    /// Removes loose entries of `tmp/` last modified more than `older_than` ago (what
    /// older versions, or a tool without a store, left there); returns how many. Store
    /// folders are `remove_leftovers`' and `tmp/links/` the links queue's.
    pub fn clean_tmp(&self, older_than: Duration) -> io::Result<usize> {
        let mut removed = 0;
        for e in fs::read_dir(self.tmp_root())? {
            let e = e?;
            if e.file_name() == "links" || e.file_name().to_str().is_some_and(|n| n.starts_with(SCRATCH_PREFIX)) {
                continue;
            }
            let meta = e.metadata()?;
            let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
            if age < older_than {
                continue;
            }
            let gone = if meta.is_dir() { fs::remove_dir_all(e.path()) } else { fs::remove_file(e.path()) };
            match gone {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// The archive's folders: what `migrate-db --storage s3` copies.
    pub const ARCHIVE: [&str; 4] = ["blobs", "raw", "thumbs", "renditions"];

    /// Regular files under `sub` on this machine's disk, as paths relative to the root,
    /// sorted. Symbolic links are not followed; a missing folder has none.
    pub fn on_disk(&self, sub: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut dirs = vec![self.root.join(sub)];
        while let Some(dir) = dirs.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for e in entries {
                let e = e?;
                let t = e.file_type()?;
                if t.is_dir() {
                    dirs.push(e.path());
                } else if t.is_file() {
                    if let Ok(rel) = e.path().strip_prefix(&self.root) {
                        out.push(rel.to_string_lossy().into_owned());
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The path of the blob with this SHA-256, relative to the root.
    pub fn blob_rel(sha256: &str) -> String {
        format!("blobs/{}/{}/{}", &sha256[..2], &sha256[2..4], sha256)
    }

    /// Stores a blob under its SHA-256 (hex) and returns its path relative to the root.
    pub fn put_blob(&self, sha256: &str, data: &[u8]) -> io::Result<String> {
        let rel = Self::blob_rel(sha256);
        self.put(&rel, data, false)?;
        Ok(rel)
    }

    /// Writes a blob again even where a file of that name exists (a damaged one of the
    /// same size would be kept by `put_blob`). `data` must hash to `sha256`. The new
    /// file replaces the old name only: tree entries still link the damaged file until
    /// they are linked again ([`Store::relink`]).
    pub fn restore_blob(&self, sha256: &str, data: &[u8]) -> io::Result<String> {
        if crate::hash::sha256_hex(data) != sha256 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "内容与哈希不符"));
        }
        let rel = Self::blob_rel(sha256);
        self.put(&rel, data, true)?;
        Ok(rel)
    }

    /// A thumbnail (JPEG) of the blob with this SHA-256.
    pub fn put_thumb(&self, sha256: &str, jpeg: &[u8]) -> io::Result<String> {
        let rel = format!("thumbs/{}/{}.jpg", &sha256[..2], sha256);
        self.put(&rel, jpeg, false)?;
        Ok(rel)
    }

    /// A full-size JPEG made from a HEIC photo, named by its own SHA-256 like a blob
    /// (so the tree's checks hold for it) and read-only because the tree links it.
    pub fn put_rendition(&self, jpeg: &[u8]) -> io::Result<String> {
        let sha256 = crate::hash::sha256_hex(jpeg);
        let rel = format!("renditions/{}/{}.jpg", &sha256[..2], sha256);
        self.put(&rel, jpeg, false)?;
        Ok(rel)
    }

    /// Where the rendition of the file at `tree_rel` is filed: next to it, named
    /// after it, so `IMG_0001.heic` is followed by `IMG_0001.heic.jpg`.
    pub fn rendition_tree_path(tree_rel: &str) -> String {
        format!("{tree_rel}.jpg")
    }

    pub fn put_raw(&self, sha256: &str, raw: &[u8]) -> io::Result<String> {
        let rel = Self::raw_rel(sha256);
        self.put(&rel, raw, false)?;
        Ok(rel)
    }

    fn raw_rel(sha256: &str) -> String {
        format!("raw/{}/{}.eml", &sha256[..2], sha256)
    }

    /// `put_raw` for mail already in a file of the store's `tmp/` (a large message
    /// fetched in ranges): the file itself becomes the raw mail, without a copy.
    pub fn adopt_raw(&self, sha256: &str, file: &Path) -> io::Result<String> {
        let rel = Self::raw_rel(sha256);
        self.adopt(&rel, file)?;
        Ok(rel)
    }

    /// Keeps a 超大附件 link's file (downloaded, or taken in by hand) as an original
    /// beside the raw mail, `raw/ab/<sha256>.orig`, from a file of the store's `tmp/`:
    /// like raw mail it is never changed, `reprocess` reads it, `verify` checks it.
    pub fn adopt_original(&self, sha256: &str, file: &Path) -> io::Result<String> {
        let rel = format!("raw/{}/{}.orig", &sha256[..2], sha256);
        self.adopt(&rel, file)?;
        Ok(rel)
    }

    /// `put_blob` for a file whose bytes are already in a file of the store's `tmp/`
    /// (an attachment streamed out of a large message), hashing to `sha256`.
    pub fn adopt_blob(&self, sha256: &str, file: &Path) -> io::Result<String> {
        let rel = Self::blob_rel(sha256);
        self.adopt(&rel, file)?;
        Ok(rel)
    }

    /// Makes `file` (in `tmp/`) read-only, durable, and linked at `rel` as well. Like
    /// `put`, an existing file of the same size is kept.
    fn adopt(&self, rel: &str, file: &Path) -> io::Result<()> {
        if self.dry {
            return Ok(());
        }
        let dest = self.root.join(rel);
        let len = fs::metadata(file)?.len();
        if dest.metadata().is_ok_and(|m| m.len() == len) {
            return self.upload(rel, false);
        }
        let dir = dest.parent().ok_or_else(|| io::Error::other("blob path without parent"))?;
        make_dirs(dir, DIR_MODE)?;
        let f = fs::File::open(file)?;
        f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        f.sync_all()?;
        // A damaged file of another size under the name is replaced, as `put` does.
        let _ = fs::remove_file(&dest);
        fs::hard_link(file, &dest)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        self.upload(rel, false)
    }

    /// Temp file, read-only mode, fsync, rename: a crash leaves the old state or the
    /// whole file, and the file is never writable under its final name. Without
    /// `overwrite`, an existing file of the same size is kept.
    fn put(&self, rel: &str, data: &[u8], overwrite: bool) -> io::Result<()> {
        if self.dry {
            return Ok(());
        }
        let dest = self.root.join(rel);
        if !overwrite && dest.metadata().is_ok_and(|m| m.len() == data.len() as u64) {
            return self.upload(rel, false);
        }
        let dir = dest.parent().ok_or_else(|| io::Error::other("blob path without parent"))?;
        make_dirs(dir, DIR_MODE)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())?;
        tmp.write_all(data)?;
        tmp.as_file().set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        self.upload(rel, overwrite)
    }

    /// The SHA-256 (hex) of a stored file, read in pieces.
    pub fn hash_file(&self, rel: &str) -> io::Result<String> {
        let mut f = fs::File::open(self.root.join(rel))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Whether the blob at `blob_rel` (named by its SHA-256) still has that content.
    pub fn blob_intact(&self, blob_rel: &str) -> io::Result<bool> {
        self.local(blob_rel)?;
        let name = blob_rel.rsplit('/').next().unwrap_or_default();
        // A rendition is named "<sha256>.jpg"; a blob has no extension.
        let expected = name.split('.').next().unwrap_or_default();
        Ok(self.hash_file(blob_rel)? == expected)
    }

    /// Makes a stored file read-only for everyone, if it is not; returns whether it changed.
    pub fn make_read_only(&self, rel: &str) -> io::Result<bool> {
        let path = self.root.join(rel);
        let mode = fs::metadata(&path)?.permissions().mode() & 0o7777;
        if mode == FILE_MODE {
            return Ok(false);
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(FILE_MODE))?;
        Ok(true)
    }

    /// The `n`th candidate tree path for a file, relative to the root: the name itself
    /// first, then " (2)", " (3)" … before the extension, for clashes. `name` is a tree
    /// name already ([`crate::unpack::names::tree_name`]).
    pub fn tree_path(cycle: &str, department: &str, category: &str, name: &str, n: u32) -> String {
        let base = format!("tree/{cycle}/{department}/{category}");
        if n <= 1 {
            return format!("{base}/{name}");
        }
        match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{base}/{stem} ({n}).{ext}"),
            _ => format!("{base}/{name} ({n})"),
        }
    }

    /// Makes `tree_rel` show the blob at `blob_rel`, unless something is there already.
    pub fn link(&self, blob_rel: &str, tree_rel: &str) -> io::Result<()> {
        let dest = self.root.join(tree_rel);
        if self.dry || dest.symlink_metadata().is_ok() {
            return Ok(());
        }
        if let Some(dir) = dest.parent() {
            make_dirs(dir, DIR_MODE)?;
        }
        // Stores written before files were made read-only hold 0600 blobs, and the
        // tree entry is the blob itself: fix its mode here. Best effort: a file owned
        // by someone else keeps its mode, and verify --repair reports it.
        let src = self.local(blob_rel)?;
        let _ = self.make_read_only(blob_rel);
        fs::hard_link(&src, &dest).or_else(|_| {
            fs::copy(&src, &dest)?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(FILE_MODE))
        })
    }

    /// Links `tree_rel` to the blob again, replacing what is there (after a repair the
    /// tree would otherwise still show the damaged file).
    pub fn relink(&self, blob_rel: &str, tree_rel: &str) -> io::Result<()> {
        self.unlink(tree_rel)?;
        self.link(blob_rel, tree_rel)
    }

    /// Whether `tree_rel` is the blob itself (the same file, not a copy or a replacement).
    pub fn is_linked(&self, blob_rel: &str, tree_rel: &str) -> io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (fs::metadata(self.root.join(blob_rel))?, fs::symlink_metadata(self.root.join(tree_rel))?);
        Ok(a.dev() == b.dev() && a.ino() == b.ino())
    }

    pub fn unlink(&self, tree_rel: &str) -> io::Result<()> {
        self.remove(tree_rel)
    }

    /// Removes the whole tree, for a rebuild.
    pub fn clear_tree(&self) -> io::Result<()> {
        let tree = self.root.join("tree");
        if tree.exists() {
            fs::remove_dir_all(&tree)?;
        }
        make_dirs(&tree, DIR_MODE)
    }
}

/// `create_dir_all` that gives each directory it creates `mode`, whatever the umask
/// (a systemd unit's UMask=0077 would otherwise hide the tree from the share).
fn make_dirs(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_dirs(parent, mode)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn blobs_are_content_addressed_and_linked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let sha = crate::hash::sha256_hex(b"photo");
        let rel = s.put_blob(&sha, b"photo").unwrap();
        assert_eq!(rel, format!("blobs/{}/{}/{sha}", &sha[..2], &sha[2..4]));
        assert_eq!(s.put_blob(&sha, b"photo").unwrap(), rel);
        assert_eq!(Store::tree_path("2024-03", "嘎鲁图派出所", "①党的建设", "a.jpg", 1), "tree/2024-03/嘎鲁图派出所/①党的建设/a.jpg");
        let tree = Store::tree_path("2024-03", "嘎鲁图派出所", "①党的建设", "a.jpg", 2);
        assert_eq!(tree, "tree/2024-03/嘎鲁图派出所/①党的建设/a (2).jpg");
        s.link(&rel, &tree).unwrap();
        assert_eq!(fs::read(dir.path().join(&tree)).unwrap(), b"photo");
        assert!(s.is_linked(&rel, &tree).unwrap());
    }

    #[test]
    fn stored_files_are_read_only_and_directories_open() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let sha = crate::hash::sha256_hex(b"photo");
        let blob = s.put_blob(&sha, b"photo").unwrap();
        let raw = s.put_raw(&sha, b"raw mail").unwrap();
        let thumb = s.put_thumb(&sha, b"thumb").unwrap();
        let tree = Store::tree_path("2024-03", "嘎鲁图派出所", "①党的建设", "a.jpg", 1);
        s.link(&blob, &tree).unwrap();
        for rel in [&blob, &raw, &thumb, &tree] {
            assert_eq!(mode(&s.abs(rel)), 0o444, "{rel}");
        }
        for d in ["blobs", &blob[..8], &blob[..11], "raw", "thumbs", "tree", "tree/2024-03", "tree/2024-03/嘎鲁图派出所", "tree/2024-03/嘎鲁图派出所/①党的建设"] {
            assert_eq!(mode(&s.abs(d)), 0o755, "{d}");
        }
        // An old 0600 blob is made read-only when it is linked into the tree.
        let old = crate::hash::sha256_hex(b"old");
        let old_rel = s.put_blob(&old, b"old").unwrap();
        fs::set_permissions(s.abs(&old_rel), fs::Permissions::from_mode(0o600)).unwrap();
        s.link(&old_rel, "tree/2024-03/x.jpg").unwrap();
        assert_eq!(mode(&s.abs("tree/2024-03/x.jpg")), 0o444);
    }

    #[test]
    fn a_damaged_blob_is_detected_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let sha = crate::hash::sha256_hex(b"photo");
        let blob = s.put_blob(&sha, b"photo").unwrap();
        let tree = "tree/2024-03/a.jpg";
        s.link(&blob, tree).unwrap();
        assert!(s.blob_intact(&blob).unwrap());
        fs::set_permissions(s.abs(&blob), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(s.abs(tree), b"PHOTO").unwrap();
        assert!(!s.blob_intact(&blob).unwrap(), "the tree entry is the blob");
        // Same size: put_blob keeps the damaged file; restore_blob replaces it.
        s.put_blob(&sha, b"photo").unwrap();
        assert!(!s.blob_intact(&blob).unwrap());
        assert!(s.restore_blob(&sha, b"wrong").is_err());
        s.restore_blob(&sha, b"photo").unwrap();
        assert!(s.blob_intact(&blob).unwrap());
        assert!(!s.is_linked(&blob, tree).unwrap());
        s.relink(&blob, tree).unwrap();
        assert_eq!(fs::read(s.abs(tree)).unwrap(), b"photo");
        assert_eq!(mode(&s.abs(tree)), 0o444);
    }

    #[test]
    fn stale_temporary_files_are_removed_at_open_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let stale = s.tmp_root().join(".tmpSTALE");
        fs::write(&stale, b"left by kill -9").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        fs::File::options().write(true).open(&stale).unwrap().set_modified(two_hours_ago).unwrap();
        let fresh = s.tmp_root().join(".tmpFRESH");
        fs::write(&fresh, b"another process is writing this").unwrap();
        Store::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists());
        assert_eq!(s.clean_tmp(Duration::ZERO).unwrap(), 1);
        assert!(!fresh.exists());
        assert!(s.tmp_dir().exists(), "a live store's own folder is not a loose entry");
    }

    /// What a kill -9 leaves in its folder goes when the next writer starts, however
    /// young; a live store's folder and the partial downloads stay.
    #[test]
    fn leftovers_of_dead_processes_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let live = Store::open(dir.path()).unwrap();
        fs::write(live.tmp_dir().join("upload-being-received"), b"x").unwrap();
        let dead = dir.path().join("tmp/proc-4242-deadbeef");
        fs::create_dir_all(&dead).unwrap();
        fs::write(dead.join(".lock"), b"").unwrap();
        fs::write(dead.join(".tmpSPOOL"), vec![0u8; 4096]).unwrap();
        let no_lock = dir.path().join("tmp/proc-4343-00000000");
        fs::create_dir_all(&no_lock).unwrap();
        fs::create_dir_all(live.links_dir()).unwrap();
        fs::write(live.links_dir().join("7.part"), b"half a video").unwrap();
        let writer = Store::open(dir.path()).unwrap();
        assert_eq!(writer.remove_leftovers().unwrap(), 2);
        assert!(!dead.exists() && !no_lock.exists());
        assert!(live.tmp_dir().join("upload-being-received").exists(), "a live process's file stays");
        assert!(writer.links_dir().join("7.part").exists(), "a resumable download stays");
        let live_dir = live.tmp_dir();
        drop(live);
        assert!(!live_dir.exists(), "a store removes its folder when it goes");
    }
}
