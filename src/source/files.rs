//! Offline import: .eml files, folders of them, Maildir folders and mbox files.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{Incoming, Raw};

/// One message found on disk, not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Eml(PathBuf),
    /// Byte range of one message inside an mbox file (after its "From " line), and its number.
    Mbox { path: PathBuf, start: u64, end: u64, index: usize },
}

/// Finds every message under `paths`, in a stable order.
pub fn discover(paths: &[PathBuf]) -> io::Result<Vec<Found>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else if is_mbox(p)? {
            mbox_messages(p, &mut out)?;
        } else {
            out.push(Found::Eml(p.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Found>) -> io::Result<()> {
    let is_maildir = ["cur", "new"].iter().all(|s| dir.join(s).is_dir());
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    if is_maildir {
        for sub in ["new", "cur"] {
            let mut files: Vec<PathBuf> =
                fs::read_dir(dir.join(sub))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
            files.sort();
            out.extend(files.into_iter().filter(|f| f.is_file()).map(Found::Eml));
        }
    }
    for e in entries {
        let name = e.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if e.is_dir() {
            if !(is_maildir && matches!(name.as_str(), "cur" | "new" | "tmp")) {
                walk(&e, out)?;
            }
        } else if name.ends_with(".eml") {
            out.push(Found::Eml(e));
        } else if (name.ends_with(".mbox") || name.ends_with(".mbx")) && is_mbox(&e)? {
            mbox_messages(&e, out)?;
        }
    }
    Ok(())
}

fn is_mbox(path: &Path) -> io::Result<bool> {
    let mut head = [0u8; 5];
    let n = fs::File::open(path)?.read(&mut head)?;
    Ok(n == 5 && &head == b"From ")
}

/// Splits an mbox on "From " lines without reading it whole.
fn mbox_messages(path: &Path, out: &mut Vec<Found>) -> io::Result<()> {
    let mut r = BufReader::new(fs::File::open(path)?);
    let mut offset = 0u64;
    let mut start: Option<u64> = None;
    let mut index = 0;
    let mut line = Vec::new();
    let mut prev_blank = true;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            break;
        }
        if line.starts_with(b"From ") && prev_blank {
            if let Some(s) = start {
                out.push(Found::Mbox { path: path.to_path_buf(), start: s, end: offset, index });
                index += 1;
            }
            start = Some(offset + n);
        }
        prev_blank = line == b"\n" || line == b"\r\n";
        offset += n;
    }
    if let Some(s) = start {
        out.push(Found::Mbox { path: path.to_path_buf(), start: s, end: offset, index });
    }
    Ok(())
}

/// Reads one found message.
pub fn load(found: &Found) -> io::Result<Incoming> {
    match found {
        Found::Eml(p) => Ok(Incoming { raw: Raw::Bytes(fs::read(p)?), source: p.display().to_string(), received_at: None, cursor: None }),
        Found::Mbox { path, start, end, index } => {
            let mut f = fs::File::open(path)?;
            f.seek(SeekFrom::Start(*start))?;
            let mut buf = vec![0u8; (end - start) as usize];
            f.read_exact(&mut buf)?;
            Ok(Incoming { raw: Raw::Bytes(unescape_mbox(&buf)), source: format!("{}#{}", path.display(), index + 1), received_at: None, cursor: None })
        }
    }
}

/// Drops the separator's blank line and undoes ">From " quoting (mboxrd).
fn unescape_mbox(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    for line in buf.split_inclusive(|&b| b == b'\n') {
        let quoted = line.iter().position(|&b| b != b'>').is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
        out.extend_from_slice(if quoted { &line[1..] } else { line });
    }
    while out.ends_with(b"\n\n") || out.ends_with(b"\r\n\r\n") {
        out.pop();
        if out.ends_with(b"\r") {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unquote() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("box.mbox");
        fs::write(&p, "From a@b Mon Jan 1 00:00:00 2024\nSubject: 1\n\n>From here\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: 2\n\nx\n").unwrap();
        let found = discover(&[p]).unwrap();
        assert_eq!(found.len(), 2);
        let one = load(&found[0]).unwrap();
        assert_eq!(String::from_utf8(one.raw.to_vec()).unwrap(), "Subject: 1\n\nFrom here\n");
        assert!(one.source.ends_with("box.mbox#1"));
        assert_eq!(String::from_utf8(load(&found[1]).unwrap().raw.to_vec()).unwrap(), "Subject: 2\n\nx\n");
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
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
