//! `baosong migrate-db --to postgres://… [--storage s3]`: a SQLite deployment's books
//! copied into an empty PostgreSQL database and checked table by table (`db::transfer`),
//! and with `--storage s3` its archive copied into the bucket of `[storage.s3]` and
//! checked file by file. Both can be run again after an interruption.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use baosong::app::App;
use baosong::db::{self, Backend, Db, transfer};
use baosong::store::{Remote, Store};

/// Copies and checks, or with `only_check` checks an earlier copy.
pub async fn run(app: &App, to: &str, only_check: bool, storage: bool) -> anyhow::Result<ExitCode> {
    if app.db.backend != Backend::Sqlite {
        bail!("当前配置的数据库已是 PostgreSQL（{}）：migrate-db 只把单机版 SQLite 的数据复制过去", db::shown(&app.config.database_url));
    }
    if Backend::of(to) != Some(Backend::Postgres) {
        bail!("目标地址 {} 不是 PostgreSQL：写成 postgres://用户:密码@主机:端口/库名", db::shown(to));
    }
    let bucket = match (storage, &app.config.s3_table) {
        (false, _) => None,
        (true, _) if app.store.remote().is_some() => bail!("存档已在对象存储中（[storage] backend = \"s3\"）：--storage s3 只复制单机版 data_dir 中的存档"),
        (true, Some(s3)) => Some(s3.clone()),
        (true, None) => bail!(
            "{} 中没有 [storage.s3] 一节：--storage s3 把存档复制到那里写明的存储桶。先写好 endpoint、bucket 和密钥（backend 仍保持 \"local\"，迁移完成后再改为 \"s3\"），运行 baosong check-config，再迁移",
            app.config.origin
        ),
    };
    if let Some(s3) = bucket {
        let store = app.store.clone();
        let copied = tokio::task::spawn_blocking(move || copy_archive(&store, &s3, only_check)).await.context("复制存档的线程异常退出")??;
        if !copied {
            return Ok(ExitCode::FAILURE);
        }
    }
    println!("源：{}\n目标：{}", db::shown(&app.config.database_url), db::shown(to));
    // Opening migrates the target's schema to the version the source has now.
    let target = Db::open(to).await?;
    let tables = transfer::tables(&app.db, &target).await?;
    if !only_check {
        if let Some((table, rows)) = transfer::first_nonempty(&target, &tables).await? {
            bail!("目标库不是空的（表 {table} 已有 {rows} 行）：migrate-db 只往新建的空库里复制，以免两份数据混在一起。请新建一个空库再运行；只想核对已迁移的库，加 --check");
        }
        println!("正在复制 {} 张表……", tables.len());
        transfer::copy(&app.db, &target, &tables, &mut |table, rows| println!("  {table}：{rows} 行")).await?;
    }
    println!("正在核对行数和校验和……");
    let checked = transfer::check(&app.db, &target, &tables).await?;
    let mut ok = true;
    for c in &checked {
        let verdict = if c.matches() { "一致" } else { "不一致" };
        ok &= c.matches();
        println!("  {:<24} 源 {:>8} 行  目标 {:>8} 行  校验和{verdict}", c.table, c.rows.0, c.rows.1);
    }
    target.close().await;
    if !ok {
        eprintln!("核对未通过：上面标为“不一致”的表两边不同。目标库已写入，请删除并新建空库后重新运行；若再次不一致，请保留两边的数据库并联系维护人员。");
        return Ok(ExitCode::FAILURE);
    }
    let rows: i64 = checked.iter().map(|c| c.rows.0).sum();
    if only_check {
        println!("核对通过：{} 张表共 {rows} 行，行数和校验和全部一致。", checked.len());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "迁移完成：{} 张表共 {rows} 行，行数和校验和全部一致。\n下一步：把 [storage] database_url 改为目标地址（或设置环境变量 BAOSONG_DATABASE_URL），再启动 baosong。{}",
        checked.len(),
        if storage {
            "存档已在存储桶中：同时把 [storage] backend 改为 \"s3\"。".to_string()
        } else {
            format!("存档文件仍在 {}。", app.config.data_dir.display())
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Copies every archived file on disk into the bucket (a key already there is kept:
/// keys are content hashes, so a second run sends only what the first did not), then
/// checks that the bucket holds each with its size. False when something is missing.
fn copy_archive(store: &Store, s3: &baosong::config::s3::S3Config, only_check: bool) -> anyhow::Result<bool> {
    let remote = Remote::open(s3)?;
    remote.probe()?;
    let mut files = Vec::new();
    for sub in Store::ARCHIVE {
        files.extend(store.on_disk(sub).with_context(|| format!("无法读取 {}", store.abs(sub).display()))?);
    }
    if !only_check {
        println!("正在把 {} 个存档文件复制到 {}……", files.len(), remote.shown);
        let (mut sent, mut had) = (0, 0);
        for (i, rel) in files.iter().enumerate() {
            if remote.upload(rel, &store.abs(rel), false)? {
                sent += 1;
            } else {
                had += 1;
            }
            if (i + 1) % 200 == 0 || i + 1 == files.len() {
                println!("  已处理 {}/{}（新复制 {sent}，存储桶中已有 {had}）", i + 1, files.len());
            }
        }
    }
    println!("正在核对存储桶中的存档文件……");
    let mut there: HashMap<String, u64> = HashMap::new();
    for sub in Store::ARCHIVE {
        there.extend(remote.sizes(sub)?);
    }
    let mut wrong = Vec::new();
    for rel in &files {
        let len = std::fs::metadata(store.abs(rel))?.len();
        match there.get(rel) {
            Some(&l) if l == len => {}
            Some(&l) => wrong.push(format!("{rel}（本机 {len} 字节，存储桶中 {l} 字节）")),
            None => wrong.push(format!("{rel}（存储桶中没有）")),
        }
    }
    if wrong.is_empty() {
        println!("存档核对通过：{} 个文件都在存储桶中，大小一致。", files.len());
        return Ok(true);
    }
    for w in wrong.iter().take(20) {
        eprintln!("  {w}");
    }
    eprintln!("存档核对未通过：{} 个文件不在存储桶中或大小不同（上面列出前 20 个）。再运行一次 migrate-db --storage s3 会补上缺的；大小不同的请在存储桶中删除后再运行。", wrong.len());
    Ok(false)
}
