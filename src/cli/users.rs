//! `baosong user`: console accounts.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use baosong::db;
use baosong::app::App;
use baosong::web::accounts;
use baosong::web::auth::Role;

use crate::UserAction;

pub async fn run(app: &App, action: UserAction) -> anyhow::Result<ExitCode> {
    let (db, by, at) = (&app.db, db::audit::cli_user(), chrono::Utc::now().timestamp());
    match action {
        UserAction::Add { name, role } => {
            let role = role_named(&role)?;
            let password = read_password("账号未建立")?;
            done(accounts::add(db, &name, role, &password, &by, at).await?)?;
            println!("已新建控制台账号 {}（{}）。", name.trim(), role.label());
        }
        UserAction::List => {
            let users = db::users::list(db).await?;
            if users.is_empty() {
                println!("还没有控制台账号。新建：baosong user add 用户名 --role admin");
            }
            for u in users {
                let state = if u.disabled() { "  （已停用）" } else { "" };
                println!("{}  {}{state}", u.name, Role::parse(&u.role).map_or(u.role.as_str(), |r| r.label()));
            }
        }
        UserAction::Role { name, role } => {
            let role = role_named(&role)?;
            done(accounts::set_role(db, &name, role, &by, at).await?)?;
            println!("账号 {} 的权限已改为“{}”。", name.trim(), role.label());
        }
        UserAction::Disable { name } => {
            done(accounts::disable(db, &name, &by, at).await?)?;
            println!("账号 {} 已停用：不能再登录，已登录的已退出。重新启用：baosong user enable {}", name.trim(), name.trim());
        }
        UserAction::Enable { name } => {
            done(accounts::enable(db, &name, &by, at).await?)?;
            println!("账号 {} 已重新启用，可以登录。", name.trim());
        }
        UserAction::Passwd { name } => {
            let password = read_password("密码未更改")?;
            done(accounts::set_password(db, &name, &password, &by, at).await?)?;
            println!("账号 {} 的密码已重置；该账号需用新密码重新登录。", name.trim());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn role_named(role: &str) -> anyhow::Result<Role> {
    Role::parse(role).with_context(|| format!("没有权限 \"{role}\"。可用的权限：viewer（只读）、staff（审核和更正）、admin（另可管理账号）"))
}

/// A refused change is the command's error, in the refusal's words.
fn done<T>(outcome: Result<T, accounts::Refusal>) -> anyhow::Result<T> {
    outcome.map_err(|r| anyhow::anyhow!("{r}"))
}

/// From a terminal: asked twice, without echo. Otherwise: the first line of stdin.
/// `unchanged` says what did not happen when the two differ.
fn read_password(unchanged: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("无法从标准输入读取密码")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = prompt("密码（输入时不显示）：")?;
    let second = prompt("再输入一次：")?;
    if first != second {
        bail!("两次输入的密码不一致，{unchanged}");
    }
    Ok(first)
}

fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush()?;
    let _echo = EchoOff::new();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("无法读取密码")?;
    eprintln!();
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Terminal echo off for as long as it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios they fill in.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}
