//! Console accounts as an admin manages them: add one, change its role, disable and
//! re-enable it, reset its password. `baosong user …` and the 账号 page call these
//! alike, so each change is audited the same way (`cli:<unix user>` or `web:<admin>`),
//! in the change's transaction. There is always an active admin left.

use super::auth::{Role, hash_password};
use crate::db;

/// Why an account change was not made: the request's fault, said as it is, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("用户名不能为空、不能超过 64 个字，也不能含控制字符")]
    BadName,
    #[error("密码至少 8 位")]
    ShortPassword,
    #[error("已有名为 \"{0}\" 的账号")]
    Exists(String),
    #[error("没有名为 \"{0}\" 的账号")]
    NoSuchAccount(String),
    #[error("账号 \"{0}\" 的权限已经是“{1}”")]
    SameRole(String, &'static str),
    #[error("账号 \"{0}\" 已经停用")]
    AlreadyDisabled(String),
    #[error("账号 \"{0}\" 没有停用，可以正常登录")]
    NotDisabled(String),
    #[error("\"{0}\" 是最后一个可用的管理员账号，不能{1}：否则就没有人能管理账号了。请先把另一个账号设为管理员")]
    LastAdmin(String, &'static str),
}

impl Refusal {
    /// A stable code, for scripts and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadName => "bad_name",
            Refusal::ShortPassword => "short_password",
            Refusal::Exists(_) => "exists",
            Refusal::NoSuchAccount(_) => "no_such_account",
            Refusal::SameRole(..) => "same_role",
            Refusal::AlreadyDisabled(_) => "already_disabled",
            Refusal::NotDisabled(_) => "not_disabled",
            Refusal::LastAdmin(..) => "last_admin",
        }
    }
}

/// What a change returns: done, refused, or a real failure (the database).
pub type Outcome<T> = anyhow::Result<Result<T, Refusal>>;

fn target(name: &str) -> String {
    format!("账号 {name}")
}

fn check_password(password: &str) -> Result<(), Refusal> {
    if password.chars().count() >= 8 { Ok(()) } else { Err(Refusal::ShortPassword) }
}

/// A new account (`baosong user add`, the 新建账号 form).
pub async fn add(db: &db::Db, name: &str, role: Role, password: &str, by: &str, at: i64) -> Outcome<i64> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Ok(Err(Refusal::BadName));
    }
    if let Err(r) = check_password(password) {
        return Ok(Err(r));
    }
    let phc = hash_password(password)?;
    let mut tx = db.begin().await?;
    let id = match db::users::insert(&mut tx, name, role.code(), &phc, by, at).await? {
        Ok(id) => id,
        Err(_) => return Ok(Err(Refusal::Exists(name.to_string()))),
    };
    let change = db::audit::Change { who: by, action: "user_add", target: &target(name), before: "", after: role.code() };
    db::audit::record(&mut tx, at, &change).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Reads account `name`, lets `decide` say what changes (or refuse), and writes the
/// change with its audit row; refused when it would leave no active admin.
async fn change(db: &db::Db, name: &str, by: &str, at: i64, decide: impl FnOnce(&db::users::User) -> Result<Step, Refusal>) -> Outcome<()> {
    let mut tx = db.begin().await?;
    let Some(user) = db::users::by_name_in(&mut tx, name.trim()).await? else {
        return Ok(Err(Refusal::NoSuchAccount(name.trim().to_string())));
    };
    let step = match decide(&user) {
        Ok(s) => s,
        Err(r) => return Ok(Err(r)),
    };
    if !db::users::update(&mut tx, user.id, step.role.code(), step.disabled_at).await? {
        return Ok(Err(Refusal::LastAdmin(user.name, step.what)));
    }
    if step.disabled_at != 0 {
        db::users::end_sessions(&mut tx, user.id).await?;
    }
    let c = db::audit::Change { who: by, action: step.action, target: &target(&user.name), before: &step.before, after: &step.after };
    db::audit::record(&mut tx, at, &c).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// One change to an account's role or state, and how it is audited.
struct Step {
    role: Role,
    disabled_at: i64,
    action: &'static str,
    /// The change in words, for the last-admin refusal: "改为只读", "停用".
    what: &'static str,
    before: String,
    after: String,
}

fn role_of(user: &db::users::User) -> Role {
    Role::parse(&user.role).unwrap_or(Role::Viewer)
}

fn state(user: &db::users::User) -> &'static str {
    if user.disabled() { "disabled" } else { "active" }
}

/// `baosong user role NAME ROLE`, the 改权限 form.
pub async fn set_role(db: &db::Db, name: &str, role: Role, by: &str, at: i64) -> Outcome<()> {
    change(db, name, by, at, |u| {
        if u.role == role.code() {
            return Err(Refusal::SameRole(u.name.clone(), role.label()));
        }
        let what = match role {
            Role::Viewer => "改为只读",
            Role::Staff => "改为工作人员",
            Role::Admin => "改为管理员",
        };
        Ok(Step { role, disabled_at: u.disabled_at, action: "user_role", what, before: u.role.clone(), after: role.code().to_string() })
    })
    .await
}

/// `baosong user disable NAME`, the 停用 button: the account cannot log in, and its
/// sessions end at once.
pub async fn disable(db: &db::Db, name: &str, by: &str, at: i64) -> Outcome<()> {
    change(db, name, by, at, |u| {
        if u.disabled() {
            return Err(Refusal::AlreadyDisabled(u.name.clone()));
        }
        Ok(Step { role: role_of(u), disabled_at: at.max(1), action: "user_disable", what: "停用", before: state(u).into(), after: "disabled".into() })
    })
    .await
}

/// `baosong user enable NAME`, the 启用 button.
pub async fn enable(db: &db::Db, name: &str, by: &str, at: i64) -> Outcome<()> {
    change(db, name, by, at, |u| {
        if !u.disabled() {
            return Err(Refusal::NotDisabled(u.name.clone()));
        }
        Ok(Step { role: role_of(u), disabled_at: 0, action: "user_enable", what: "启用", before: state(u).into(), after: "active".into() })
    })
    .await
}

/// `baosong user passwd NAME`, the 重置密码 form: a new password, and the account's
/// sessions end (whoever had the old one is logged out). The audit row says that the
/// password changed, never what it is.
pub async fn set_password(db: &db::Db, name: &str, password: &str, by: &str, at: i64) -> Outcome<()> {
    if let Err(r) = check_password(password) {
        return Ok(Err(r));
    }
    let phc = hash_password(password)?;
    let mut tx = db.begin().await?;
    let Some(user) = db::users::by_name_in(&mut tx, name.trim()).await? else {
        return Ok(Err(Refusal::NoSuchAccount(name.trim().to_string())));
    };
    db::users::set_password(&mut tx, user.id, &phc).await?;
    db::users::end_sessions(&mut tx, user.id).await?;
    let c = db::audit::Change { who: by, action: "user_passwd", target: &target(&user.name), before: "", after: "reset" };
    db::audit::record(&mut tx, at, &c).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
