//! `baosong user`: console accounts.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use baosong::db;
use baosong::pipeline::Ctx;
use baosong::web::auth::{self, Role};

use crate::UserAction;

pub async fn run(ctx: &Ctx, action: UserAction) -> anyhow::Result<ExitCode> {
    match action {
        UserAction::Add { name, role } => {
            let Some(role) = Role::parse(&role) else {
                bail!("没有权限 \"{role}\"。可用的权限：viewer（只读）、staff（审核和更正）、admin（另可管理账号）");
            };
            let password = read_password()?;
            auth::add_user(&ctx.db, &name, role, &password, &db::audit::cli_user(), chrono::Utc::now().timestamp()).await?;
            println!("已新建控制台账号 {}（{}）。", name.trim(), role.label());
        }
        UserAction::List => {
            let users = db::users::list(&ctx.db).await?;
            if users.is_empty() {
                println!("还没有控制台账号。新建：baosong user add 用户名 --role admin");
            }
            for u in users {
                println!("{}  {}", u.name, Role::parse(&u.role).map_or(u.role.as_str(), |r| r.label()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// From a terminal: asked twice, without echo. Otherwise: the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("无法从标准输入读取密码")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = prompt("密码（输入时不显示）：")?;
    let second = prompt("再输入一次：")?;
    if first != second {
        bail!("两次输入的密码不一致，账号未建立");
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
