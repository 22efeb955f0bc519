//! Offline import: .eml files, folders of them, Maildir folders and mbox files. What
//! cannot or should not be read (a missing path, an unreadable folder, a symlink out of
//! the folder, a pipe or device) is skipped and reported, and the rest is imported.

pub mod mbox;

use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::journal::{Incoming, Raw, Spool};

/// One message found on disk, not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Eml(PathBuf),
    /// Byte range of one message inside an mbox file (after its From_ line), its
    /// number, and whether its length came from `Content-Length` (nothing to unquote).
    Mbox { path: PathBuf, start: u64, end: u64, index: usize, by_length: bool },
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Eml(p) => write!(f, "{}", p.display()),
            Found::Mbox { path, index, .. } => write!(f, "{}#{}", path.display(), index + 1),
        }
    }
}

/// A path that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A path given to import that does not exist.
    NotFound,
    /// Reading it failed (the system's message).
    Unreadable(io::ErrorKind, String),
    /// A symlink whose target lies outside the folder being imported.
    SymlinkOutside,
    /// A symlink whose target does not exist.
    SymlinkBroken,
    /// A symlink that points, through others, back to itself.
    SymlinkLoop,
    /// A FIFO, socket or device: reading it could wait for ever.
    Special,
    /// A file given to import that is not a message: an archive, photo or video on its
    /// own (what it is, in Chinese, from its first bytes). It carries no sender and no
    /// date, so it cannot be counted for a department; the user is told what to do.
    NotMail(&'static str),
}

impl SkipReason {
    /// A stable code, for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NotFound => "not_found",
            SkipReason::Unreadable(..) => "unreadable",
            SkipReason::SymlinkOutside => "symlink_outside",
            SkipReason::SymlinkBroken => "symlink_broken",
            SkipReason::SymlinkLoop => "symlink_loop",
            SkipReason::Special => "special_file",
            SkipReason::NotMail(_) => "not_mail",
        }
    }

    /// Why, in Chinese, for the import summary.
    pub fn reason(&self) -> String {
        match self {
            SkipReason::NotFound => "路径不存在".into(),
            SkipReason::Unreadable(io::ErrorKind::PermissionDenied, _) => "没有读取权限".into(),
            SkipReason::Unreadable(_, e) => format!("无法读取：{e}"),
            SkipReason::SymlinkOutside => "符号链接指向导入目录之外，未跟随".into(),
            SkipReason::SymlinkBroken => "符号链接的目标不存在".into(),
            SkipReason::SymlinkLoop => "符号链接形成循环".into(),
            SkipReason::Special => "不是普通文件（管道、套接字或设备）".into(),
            SkipReason::NotMail(what) => format!(
                "这是 {what}，不是邮件文件（.eml），未导入。请在邮箱中把原邮件另存为 .eml 再导入；没有原邮件、只有这个文件的，请让报送单位用邮件重新报送（要从邮件判断是哪个单位、何时报送）"
            ),
        }
    }

    /// Whether something the user asked for could not be read or is not mail (the
    /// import then fails); the others were skipped on purpose.
    pub fn is_error(&self) -> bool {
        matches!(self, SkipReason::NotFound | SkipReason::Unreadable(..) | SkipReason::NotMail(_))
    }
}

/// What `discover` found, and what it passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    pub found: Vec<Found>,
    pub skipped: Vec<Skipped>,
}

impl Discovery {
    fn skip(&mut self, path: &Path, reason: SkipReason) {
        self.skipped.push(Skipped { path: path.to_path_buf(), reason });
    }

    fn unreadable(&mut self, path: &Path, e: &io::Error) {
        self.skip(path, SkipReason::Unreadable(e.kind(), e.to_string()));
    }
}

/// Finds every message under `paths`, in a stable order. A path given here may be a
/// symlink and is followed; inside a folder, a symlink is followed only to a file
/// inside that same folder, never to a folder (so a loop cannot form), and FIFOs,
/// sockets and devices are never opened.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut d = Discovery::default();
    for p in paths {
        let meta = match fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let reason = if fs::symlink_metadata(p).is_ok() { SkipReason::SymlinkBroken } else { SkipReason::NotFound };
                d.skip(p, reason);
                continue;
            }
            Err(e) => {
                d.skip(p, link_error(&e).unwrap_or(SkipReason::Unreadable(e.kind(), e.to_string())));
                continue;
            }
        };
        if meta.is_dir() {
            match fs::canonicalize(p) {
                Ok(root) => walk(p, &root, &mut d),
                Err(e) => d.unreadable(p, &e),
            }
        } else if meta.is_file() {
            add_file(p, p, true, &mut d);
        } else {
            d.skip(p, SkipReason::Special);
        }
    }
    d
}

/// ELOOP: a symlink chain that comes back on itself.
fn link_error(e: &io::Error) -> Option<SkipReason> {
    (e.raw_os_error() == Some(libc::ELOOP)).then_some(SkipReason::SymlinkLoop)
}

/// What a walked entry stands for: a regular file (itself, or a symlink's target
/// inside `root`), a real folder (not a symlink to one), or nothing to read (then it
/// was recorded as skipped when it should be).
enum Entry {
    File(PathBuf),
    Dir,
    Other,
}

fn classify(path: &Path, root: &Path, d: &mut Discovery) -> Entry {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            d.unreadable(path, &e);
            return Entry::Other;
        }
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return Entry::Dir;
    }
    if ft.is_file() {
        return Entry::File(path.to_path_buf());
    }
    if ft.is_fifo() || ft.is_socket() || ft.is_block_device() || ft.is_char_device() {
        d.skip(path, SkipReason::Special);
        return Entry::Other;
    }
    // A symlink.
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            d.skip(path, SkipReason::SymlinkBroken);
            return Entry::Other;
        }
        Err(e) => {
            d.skip(path, link_error(&e).unwrap_or(SkipReason::Unreadable(e.kind(), e.to_string())));
            return Entry::Other;
        }
    };
    if !target.starts_with(root) {
        d.skip(path, SkipReason::SymlinkOutside);
        return Entry::Other;
    }
    match fs::metadata(&target) {
        Ok(m) if m.is_file() => Entry::File(target),
        // A folder inside is walked under its own name already.
        Ok(m) if m.is_dir() => Entry::Other,
        Ok(_) => {
            d.skip(path, SkipReason::Special);
            Entry::Other
        }
        Err(e) => {
            d.unreadable(path, &e);
            Entry::Other
        }
    }
}

/// The entries of `dir`, sorted; an unreadable folder is recorded and yields none.
fn entries(dir: &Path, d: &mut Discovery) -> Vec<PathBuf> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            d.unreadable(dir, &e);
            return vec![];
        }
    };
    let mut out = Vec::new();
    for e in read {
        match e {
            Ok(e) => out.push(e.path()),
            Err(e) => d.unreadable(dir, &e),
        }
    }
    out.sort();
    out
}

fn walk(dir: &Path, root: &Path, d: &mut Discovery) {
    let is_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let is_maildir = ["cur", "new"].iter().all(|s| is_dir(&dir.join(s)));
    let listed = entries(dir, d);
    if is_maildir {
        for sub in ["new", "cur"] {
            for f in entries(&dir.join(sub), d) {
                if let Entry::File(real) = classify(&f, root, d) {
                    d.found.push(Found::Eml(real));
                }
            }
        }
    }
    for e in listed {
        let name = e.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if is_maildir && matches!(name.as_str(), "cur" | "new" | "tmp") {
            continue;
        }
        match classify(&e, root, d) {
            Entry::Dir => walk(&e, root, d),
            Entry::File(real) => {
                if name.ends_with(".eml") {
                    add_eml(&e, &real, d);
                } else if name.ends_with(".mbox") || name.ends_with(".mbx") {
                    add_file(&e, &real, false, d);
                }
            }
            Entry::Other => {}
        }
    }
}

/// What a file that is not mail is, from its first bytes: an archive, photo, video or
/// PDF on its own. None for anything else (mail has no magic; its name does not matter).
pub fn not_mail(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 8] = [
        (b"PK\x03\x04", "ZIP 压缩包"),
        (b"PK\x05\x06", "ZIP 压缩包"),
        (b"7z\xBC\xAF\x27\x1C", "7z 压缩包"),
        (b"Rar!\x1A\x07", "RAR 压缩包"),
        (b"\xFF\xD8\xFF", "JPEG 图片"),
        (b"\x89PNG\r\n\x1A\n", "PNG 图片"),
        (b"GIF8", "GIF 图片"),
        (b"%PDF-", "PDF 文档"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(what);
    }
    // MP4 and QuickTime: a box size, then "ftyp" (or "moov"/"mdat" in old QuickTime files).
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat") {
        return Some("MP4/MOV 视频");
    }
    None
}

/// The first bytes of a file, for telling mail from what is not.
fn head_of(f: &mut fs::File) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    head.truncate(n);
    Ok(head)
}

/// A regular file: an mbox when it starts with "From ", else one message (a file given
/// by name, or named .eml in a folder) or nothing (an .mbox in a folder that is not
/// one). An archive, photo or video is skipped as `NotMail`, whatever its name.
fn add_file(shown: &Path, real: &Path, given: bool, d: &mut Discovery) {
    match open_regular(real).and_then(|mut f| head_of(&mut f)) {
        Ok(head) if head.starts_with(b"From ") => {
            if let Err(e) = mbox_messages(real, d) {
                d.unreadable(shown, &e);
            }
        }
        Ok(head) if given => match not_mail(&head) {
            Some(what) => d.skip(shown, SkipReason::NotMail(what)),
            None => d.found.push(Found::Eml(real.to_path_buf())),
        },
        Ok(_) => {}
        Err(e) => d.unreadable(shown, &e),
    }
}

/// A file named .eml in a folder: imported unless its first bytes say it is an
/// archive, photo or video renamed.
fn add_eml(shown: &Path, real: &Path, d: &mut Discovery) {
    match open_regular(real).and_then(|mut f| head_of(&mut f)) {
        Ok(head) => match not_mail(&head) {
            Some(what) => d.skip(shown, SkipReason::NotMail(what)),
            None => d.found.push(Found::Eml(real.to_path_buf())),
        },
        Err(e) => d.unreadable(shown, &e),
    }
}

/// Opens a file for reading without waiting on a FIFO (O_NONBLOCK), and only if it is
/// a regular file: the check is on the open file, so a swap after discovery is caught.
fn open_regular(path: &Path) -> io::Result<fs::File> {
    let f = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "不是普通文件"));
    }
    Ok(f)
}

/// Splits an mbox by mapping it, not reading it: a large mailbox is not loaded whole.
fn mbox_messages(path: &Path, d: &mut Discovery) -> io::Result<()> {
    let file = open_regular(path)?;
    // SAFETY: the map is read only and dropped before returning. If another program
    // truncates the file meanwhile, reading the map could fault; import works on
    // files at rest, as mail clients export them.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    for (index, span) in mbox::split(&map).into_iter().enumerate() {
        let (start, end) = (span.range.start as u64, span.range.end as u64);
        d.found.push(Found::Mbox { path: path.to_path_buf(), start, end, index, by_length: span.by_length });
    }
    Ok(())
}

/// Reads one found message. A message file larger than what is analysed whole is
/// copied into a spool file in `tmp` (the store's) piece by piece instead.
pub fn load(found: &Found, tmp: &Path) -> io::Result<Incoming> {
    match found {
        Found::Eml(p) => {
            let mut file = open_regular(p)?;
            let raw = if file.metadata()?.len() > crate::parse::mail::WHOLE_UP_TO {
                let mut spool = Spool::new(tmp)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => spool.write(&buf[..n])?,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                spool.finish()?
            } else {
                let mut raw = Vec::new();
                file.read_to_end(&mut raw)?;
                Raw::Bytes(raw)
            };
            Ok(Incoming { raw, source: p.display().to_string(), received_at: None, cursor: None })
        }
        Found::Mbox { path, start, end, by_length, .. } => {
            let mut f = open_regular(path)?;
            f.seek(SeekFrom::Start(*start))?;
            let len = end.saturating_sub(*start);
            let mut buf = vec![0u8; usize::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "邮件过大"))?];
            f.read_exact(&mut buf)?;
            let span = mbox::Span { range: 0..buf.len(), by_length: *by_length };
            let raw = if *by_length { buf } else { mbox::message(&buf, &span) };
            Ok(Incoming { raw: Raw::Bytes(raw), source: found.to_string(), received_at: None, cursor: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(raw: &Raw) -> &[u8] {
        match raw {
            Raw::Bytes(b) => b,
            Raw::Spooled { .. } => panic!("a small message is read into memory"),
        }
    }

    #[test]
    fn mbox_split_and_unquote() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("box.mbox");
        fs::write(&p, "From a@b Mon Jan 1 00:00:00 2024\nSubject: 1\n\n>From here\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: 2\n\nx\n").unwrap();
        let found = discover(&[p]).found;
        assert_eq!(found.len(), 2);
        let one = load(&found[0], Path::new("/nonexistent")).unwrap();
        assert_eq!(String::from_utf8(bytes(&one.raw).to_vec()).unwrap(), "Subject: 1\n\nFrom here\n");
        assert!(one.source.ends_with("box.mbox#1"));
        assert_eq!(String::from_utf8(bytes(&load(&found[1], Path::new("/nonexistent")).unwrap().raw).to_vec()).unwrap(), "Subject: 2\n\nx\n");
    }

    fn reasons(d: &Discovery, root: &Path) -> Vec<(String, &'static str)> {
        let mut v: Vec<_> = d.skipped.iter().map(|s| (s.path.strip_prefix(root).unwrap_or(&s.path).display().to_string(), s.reason.code())).collect();
        v.sort();
        v
    }

    #[test]
    fn symlinks_and_special_files_are_not_followed_out() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.eml"), "Subject: secret\n\n").unwrap();
        fs::create_dir(outside.path().join("dir")).unwrap();
        fs::write(outside.path().join("dir/x.eml"), "Subject: x\n\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/real.eml"), "Subject: real\n\n").unwrap();
        fs::write(root.join("sub/data.bin"), "Subject: linked\n\n").unwrap();
        let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, root.join(name)).unwrap();
        link(&outside.path().join("secret.eml"), "out.eml");
        link(&outside.path().join("dir"), "outdir");
        link(Path::new("/etc"), "etc");
        link(&root.join("sub"), "again"); // a folder inside: walked once, as sub
        link(&root.join("sub/data.bin"), "in.eml"); // a file inside: followed
        link(root, "loop_to_root");
        link(&root.join("b.eml"), "a.eml");
        link(&root.join("a.eml"), "b.eml");
        link(&root.join("gone.eml"), "broken.eml");
        let fifo = std::ffi::CString::new(root.join("pipe.eml").into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let missing = root.join("no-such.eml");
        let d = discover(&[root.to_path_buf(), missing]);
        let mut found: Vec<String> = d.found.iter().map(|f| f.to_string()).collect();
        found.sort();
        let real = fs::canonicalize(root).unwrap();
        assert_eq!(found, [real.join("sub/data.bin").display().to_string(), root.join("sub/real.eml").display().to_string()]);
        assert_eq!(
            reasons(&d, root),
            [
                ("a.eml".to_string(), "symlink_loop"),
                ("b.eml".to_string(), "symlink_loop"),
                ("broken.eml".to_string(), "symlink_broken"),
                ("etc".to_string(), "symlink_outside"),
                ("no-such.eml".to_string(), "not_found"),
                ("out.eml".to_string(), "symlink_outside"),
                ("outdir".to_string(), "symlink_outside"),
                ("pipe.eml".to_string(), "special_file"),
            ]
        );
        assert!(d.skipped.iter().all(|s| !s.reason.reason().is_empty()));
        assert_eq!(d.skipped.iter().filter(|s| s.reason.is_error()).count(), 1);
        // A FIFO given by name is skipped too, and load refuses one without waiting.
        let d = discover(&[root.join("pipe.eml")]);
        assert_eq!(d.skipped[0].reason, SkipReason::Special);
        assert!(load(&Found::Eml(root.join("pipe.eml")), Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn mboxcl2_and_false_from_lines_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("box.mbox");
        let body = "From x@y Mon Jan  1 00:00:00 2024\n>From kept\n";
        fs::write(&p, format!("From a@b Mon Jan  1 00:00:00 2024\nContent-Length: {}\n\n{body}\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\nFrom here on\n", body.len())).unwrap();
        let found = discover(&[p]).found;
        assert_eq!(found.len(), 2);
        assert_eq!(String::from_utf8(bytes(&load(&found[0], Path::new("/nonexistent")).unwrap().raw).to_vec()).unwrap(), format!("Content-Length: {}\n\n{body}", body.len()));
        assert_eq!(String::from_utf8(bytes(&load(&found[1], Path::new("/nonexistent")).unwrap().raw).to_vec()).unwrap(), "Subject: 2\n\nFrom here on\n");
    }

    #[test]
    fn archives_photos_and_videos_are_told_from_mail_by_their_first_bytes() {
        assert_eq!(not_mail(b"PK\x03\x04rest"), Some("ZIP 压缩包"));
        assert_eq!(not_mail(b"7z\xBC\xAF\x27\x1C\x00"), Some("7z 压缩包"));
        assert_eq!(not_mail(b"Rar!\x1A\x07\x01\x00"), Some("RAR 压缩包"));
        assert_eq!(not_mail(b"\xFF\xD8\xFF\xE0"), Some("JPEG 图片"));
        assert_eq!(not_mail(b"\x00\x00\x00\x20ftypisom"), Some("MP4/MOV 视频"));
        for mail in [&b"Received: from x\r\n"[..], b"From a@b Mon Jan 1 2024\n", b"Subject: PK\n", b"", b"PK"] {
            assert_eq!(not_mail(mail), None, "{}", String::from_utf8_lossy(mail));
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.zip"), b"PK\x03\x04rest").unwrap();
        fs::write(dir.path().join("mail.txt"), "Subject: a\n\n").unwrap();
        let d = discover(&[dir.path().join("a.zip"), dir.path().join("mail.txt")]);
        assert_eq!(d.found, [Found::Eml(dir.path().join("mail.txt"))]);
        assert_eq!((d.skipped[0].reason.code(), d.skipped[0].reason.is_error()), ("not_mail", true));
    }

    #[test]
    fn maildir_and_eml_folders() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["md/cur", "md/new", "md/tmp", "emls/deeper"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        fs::write(dir.path().join("md/cur/1:2,S"), "Subject: a\n\n").unwrap();
        fs::write(dir.path().join("md/new/2"), "Subject: b\n\n").unwrap();
        fs::write(dir.path().join("md/tmp/3"), "partial").unwrap();
        fs::write(dir.path().join("emls/deeper/x.EML"), "Subject: c\n\n").unwrap();
        fs::write(dir.path().join("emls/notes.txt"), "no").unwrap();
        let found = discover(&[dir.path().to_path_buf()]).found;
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
