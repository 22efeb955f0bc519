//! Files on disk: content-addressed blobs (`blobs/ab/cd/<sha256>`), raw mail
//! (`raw/ab/<sha256>.eml`) and the browsable tree (`tree/2024-03/单位/①党的建设/名称`),
//! whose entries are hard links to blobs (copies where links fail).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn open(data_dir: &Path) -> io::Result<Store> {
        for sub in ["blobs", "raw", "tree", "thumbs", "tmp"] {
            fs::create_dir_all(data_dir.join(sub))?;
        }
        Ok(Store { root: data_dir.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Stores a blob under its SHA-256 (hex) and returns its path relative to the root.
    pub fn put_blob(&self, sha256: &str, data: &[u8]) -> io::Result<String> {
        let rel = format!("blobs/{}/{}/{}", &sha256[..2], &sha256[2..4], sha256);
        self.put(&rel, data)?;
        Ok(rel)
    }

    /// A thumbnail (JPEG) of the blob with this SHA-256.
    pub fn put_thumb(&self, sha256: &str, jpeg: &[u8]) -> io::Result<String> {
        let rel = format!("thumbs/{}/{}.jpg", &sha256[..2], sha256);
        self.put(&rel, jpeg)?;
        Ok(rel)
    }

    pub fn put_raw(&self, sha256: &str, raw: &[u8]) -> io::Result<String> {
        let rel = format!("raw/{}/{}.eml", &sha256[..2], sha256);
        self.put(&rel, raw)?;
        Ok(rel)
    }

    /// Temp file, fsync, rename: a crash leaves the old state or the whole file.
    fn put(&self, rel: &str, data: &[u8]) -> io::Result<()> {
        let dest = self.root.join(rel);
        if dest.metadata().is_ok_and(|m| m.len() == data.len() as u64) {
            return Ok(());
        }
        let dir = dest.parent().ok_or_else(|| io::Error::other("blob path without parent"))?;
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(data)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The `n`th candidate tree path for a file, relative to the root: the name itself
    /// first, then " (2)", " (3)" … before the extension, for clashes.
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

    /// Makes `tree_rel` show the blob at `blob_rel`.
    pub fn link(&self, blob_rel: &str, tree_rel: &str) -> io::Result<()> {
        let dest = self.root.join(tree_rel);
        if dest.exists() {
            return Ok(());
        }
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir)?;
        }
        let src = self.root.join(blob_rel);
        fs::hard_link(&src, &dest).or_else(|_| fs::copy(&src, &dest).map(|_| ()))
    }

    pub fn unlink(&self, tree_rel: &str) -> io::Result<()> {
        match fs::remove_file(self.root.join(tree_rel)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes the whole tree, for a rebuild.
    pub fn clear_tree(&self) -> io::Result<()> {
        let tree = self.root.join("tree");
        if tree.exists() {
            fs::remove_dir_all(&tree)?;
        }
        fs::create_dir_all(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_content_addressed_and_linked() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let sha = crate::inspect::sha256_hex(b"photo");
        let rel = s.put_blob(&sha, b"photo").unwrap();
        assert_eq!(rel, format!("blobs/{}/{}/{sha}", &sha[..2], &sha[2..4]));
        assert_eq!(s.put_blob(&sha, b"photo").unwrap(), rel);
        assert_eq!(Store::tree_path("2024-03", "嘎鲁图派出所", "①党的建设", "a.jpg", 1), "tree/2024-03/嘎鲁图派出所/①党的建设/a.jpg");
        let tree = Store::tree_path("2024-03", "嘎鲁图派出所", "①党的建设", "a.jpg", 2);
        assert_eq!(tree, "tree/2024-03/嘎鲁图派出所/①党的建设/a (2).jpg");
        s.link(&rel, &tree).unwrap();
        assert_eq!(fs::read(dir.path().join(&tree)).unwrap(), b"photo");
    }
}
