//! `baosong migrate-db --to postgres://…`: a SQLite deployment's books copied into an
//! empty PostgreSQL database and checked table by table (`db::transfer`).

use std::process::ExitCode;

use anyhow::bail;
use baosong::app::App;
use baosong::db::{self, Backend, Db, transfer};

/// Copies and checks, or with `only_check` checks an earlier copy.
pub async fn run(app: &App, to: &str, only_check: bool) -> anyhow::Result<ExitCode> {
    if app.db.backend != Backend::Sqlite {
        bail!("当前配置的数据库已是 PostgreSQL（{}）：migrate-db 只把单机版 SQLite 的数据复制过去", db::shown(&app.config.database_url));
    }
    if Backend::of(to) != Some(Backend::Postgres) {
        bail!("目标地址 {} 不是 PostgreSQL：写成 postgres://用户:密码@主机:端口/库名", db::shown(to));
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
        "迁移完成：{} 张表共 {rows} 行，行数和校验和全部一致。\n下一步：把 [storage] database_url 改为目标地址（或设置环境变量 BAOSONG_DATABASE_URL），再启动 baosong。存档文件仍在 {}。",
        checked.len(),
        app.config.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
