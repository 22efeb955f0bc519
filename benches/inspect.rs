//! Media inspection against vipsthumbnail, in one run: 20 phone-like photos
//! (4000 × 3000, JPEG quality 90, real texture), `baosong inspect --json --thumbs DIR`
//! over all 20 (EXIF, size, hash, blur, thumbnail) alternated with `vipsthumbnail -s
//! 320` once per file (thumbnail only), at least 5 runs each. Reports CPU seconds per
//! image (user + system of the child processes) and the ratio.
//! Run with `cargo bench --bench inspect` (needs Debian's libvips-tools).
//! Goal (issue 21): baosong's full inspection ≤ 0.5× vipsthumbnail's CPU per image.
//! `BENCH_PHOTOS=DIR` only writes the 20 photos into DIR (for `perf` or `farm-bench`).

#[path = "../tests/it/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::path::PathBuf;
use std::process::Command;

const PHOTOS: u32 = 20;
const RUNS: usize = 5;

/// CPU seconds (user + system) of a child, via wait4.
fn cpu(cmd: &mut Command) -> f64 {
    let child = cmd.stdout(std::process::Stdio::null()).spawn().expect("command must be installed");
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 fills it for our own child.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut u) };
    assert!(pid > 0 && status == 0, "{cmd:?} failed ({status})");
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("BENCH_PHOTOS").map(PathBuf::from);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut bytes = 0;
    for i in 0..PHOTOS {
        let jpeg = fixtures::with_exif(&fixtures::encode_jpeg(&fixtures::texture(4000, 3000, i + 1), 90), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40");
        bytes += jpeg.len();
        let p = keep.as_deref().unwrap_or(dir.path()).join(format!("IMG_{i:04}.jpg"));
        std::fs::write(&p, jpeg).unwrap();
        files.push(p);
    }
    println!("{PHOTOS} photos, 4000 × 3000, JPEG q90, {:.1} MB on average", bytes as f64 / f64::from(PHOTOS) / 1e6);
    if let Some(keep) = keep {
        println!("written to {}", keep.display());
        return;
    }
    let thumbs = dir.path().join("thumbs");
    let vips_out = dir.path().join("vips");
    std::fs::create_dir_all(&vips_out).unwrap();
    let run_baosong = || {
        let _ = std::fs::remove_dir_all(&thumbs);
        cpu(Command::new(env!("CARGO_BIN_EXE_baosong")).args(["inspect", "--json", "--thumbs"]).arg(&thumbs).args(&files))
    };
    let run_vips = || {
        files
            .iter()
            .map(|f| cpu(Command::new("vipsthumbnail").arg("-s").arg("320").arg("-o").arg(format!("{}/%s.jpg", vips_out.display())).arg(f)))
            .sum::<f64>()
    };
    run_baosong();
    run_vips();
    let (mut b, mut v) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        b.push(run_baosong() / f64::from(PHOTOS));
        v.push(run_vips() / f64::from(PHOTOS));
    }
    let ms = |x: &[f64]| x.iter().map(|s| format!("{:.0}", s * 1000.0)).collect::<Vec<_>>().join(" ");
    println!("baosong inspect (EXIF, size, hash, blur, thumbnail), ms CPU per image: {}", ms(&b));
    println!("vipsthumbnail -s 320 (thumbnail only),               ms CPU per image: {}", ms(&v));
    let (bm, vm) = (median(b), median(v));
    println!("median: baosong {:.1} ms, vipsthumbnail {:.1} ms; ratio {:.2}× (goal ≤ 0.50×)", bm * 1000.0, vm * 1000.0, bm / vm);
}
