//! The audit table: every manual change, who made it, when, and what it was before
//! and after, written in the same transaction as the change.

use sqlx::Row;

use super::{Db, Tx};

/// One change to record.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    /// `cli:<unix user>` (see `who`).
    pub who: &'a str,
    /// A stable code: adopt, unadopt, score_add, score_remove, reassign, recategorize …
    pub action: &'a str,
    /// What was changed, for people: "文件 12", "采用 3", "计分 7".
    pub target: &'a str,
    /// Text or JSON; '' when nothing was there (an insert) or nothing is left (a delete).
    pub before: &'a str,
    pub after: &'a str,
}

/// An action code in words, for `baosong audit` and the console's 审计 page.
pub fn action_label(code: &str) -> &str {
    match code {
        "adopt" => "登记采用",
        "unadopt" => "撤销采用",
        "score_add" => "计分登记",
        "score_remove" => "删除计分登记",
        "reassign" => "改月份",
        "recategorize" => "改类别",
        "author" => "指定作者",
        "extend" => "延期",
        "quarantine_approve" => "批准待审核邮件",
        "quarantine_reject" => "驳回待审核邮件",
        "reprocess" => "重新处理",
        "link_attach" => "补交超大附件",
        "user_add" => "新建控制台账号",
        "user_role" => "更改账号权限",
        "user_disable" => "停用控制台账号",
        "user_enable" => "启用控制台账号",
        "user_passwd" => "重置账号密码",
        other => other,
    }
}

/// Writes `c` inside `tx`: the change and its audit row commit or roll back together.
pub async fn record(tx: &mut Tx<'_>, at: i64, c: &Change<'_>) -> anyhow::Result<i64> {
    let row = sqlx::query("INSERT INTO audit (at, who, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(at)
        .bind(c.who)
        .bind(c.action)
        .bind(c.target)
        .bind(c.before)
        .bind(c.after)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("id")?)
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub who: String,
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
}

/// The latest `limit` changes, newest first.
pub async fn list(db: &Db, limit: i64) -> anyhow::Result<Vec<AuditRow>> {
    let rows = sqlx::query("SELECT id, at, who, action, target, before, after FROM audit ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                who: r.try_get("who")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                before: r.try_get("before")?,
                after: r.try_get("after")?,
            })
        })
        .collect()
}

/// Who is making a change from the command line: `cli:<unix user>`, from $USER, else
/// the passwd entry of the real uid, else the uid itself.
pub fn cli_user() -> String {
    if let Ok(u) = std::env::var("USER") {
        if !u.trim().is_empty() {
            return format!("cli:{}", u.trim());
        }
    }
    // SAFETY: getuid cannot fail; getpwuid returns a pointer into static storage (or
    // null), read at once on this thread before any other passwd call.
    unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr((*pw).pw_name).to_str() {
                return format!("cli:{name}");
            }
        }
        format!("cli:uid{uid}")
    }
}
