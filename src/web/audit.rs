//! 审计 (the audit page) in words: who as a person (张三（控制台）), categories by name,
//! roles, states and levels in Chinese, and the JSON an adoption or an approval is
//! recorded with said as a sentence. The rows stay as they were written (`audit
//! --json` reads them); only the page words them.

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::Value;

use super::auth::{Role, Session};
use super::{Page, Shared, session_view};
use crate::config::Config;
use crate::db;
use crate::report;

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let rows = db::audit::list(&app.db, 500).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            minijinja::context! {
                id => r.id, at => report::shown_time(r.at, &app.config), who => who(&r.who), action => db::audit::action_label(&r.action).to_string(),
                target => r.target, before => words(&app.config, &r.action, &r.before), after => words(&app.config, &r.action, &r.after),
            }
        })
        .collect();
    Ok(app.pages.render("audit.html", minijinja::context! { session => session_view(&s), rows => rows })?.into_response())
}

/// `web:张三` → 张三（控制台）, `cli:root` → root（命令行）.
fn who(w: &str) -> String {
    match w.split_once(':') {
        Some(("web", name)) => format!("{name}（控制台）"),
        Some(("cli", name)) => format!("{name}（命令行）"),
        _ => w.to_string(),
    }
}

/// A category code (`4`, `uncategorized`) by name.
fn category(config: &Config, code: &str) -> String {
    config.categories.label(code.parse().ok())
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A value of a `Debug`-printed field (`cycle: "2024-03"` → 2024-03; `accepted: 2` → 2).
fn debug_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = s.find(&format!("{key}: "))? + key.len() + 2;
    let rest = &s[at..];
    Some(match rest.strip_prefix('"') {
        Some(q) => &q[..q.find('"')?],
        None => rest.split([',', ' ', '}']).next()?,
    })
}

/// Before or after of one audit row, in words.
pub fn words(config: &Config, action: &str, v: &str) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let json = || serde_json::from_str::<Value>(v).ok();
    match action {
        "recategorize" => category(config, v),
        "quarantine_approve" | "quarantine_reject" => match (db::messages::Disposition::from_code(v), json()) {
            (Some(d), _) => d.label().to_string(),
            (None, Some(j)) => {
                let outcome = text(&j, "outcome");
                let mut s = format!("计入{}", text(&j, "department"));
                if let Some(c) = debug_field(outcome, "cycle") {
                    s.push_str(&format!(" {c}"));
                }
                if let Some(n) = debug_field(outcome, "accepted") {
                    s.push_str(&format!("（{n} 个文件）"));
                }
                if j.get("remember_sender").and_then(Value::as_bool) == Some(true) {
                    s.push_str("，记住发件人");
                }
                s
            }
            _ => v.to_string(),
        },
        "adopt" | "unadopt" => match json() {
            Some(j) => {
                let level = crate::score::Level::parse(text(&j, "level")).map_or(text(&j, "level").to_string(), |l| l.label().to_string());
                let mut s = format!("{} {level}采用", text(&j, "date"));
                for (k, label) in [("channel", "渠道"), ("note", "备注")] {
                    if !text(&j, k).is_empty() {
                        s.push_str(&format!("，{label}：{}", text(&j, k)));
                    }
                }
                s
            }
            None => v.to_string(),
        },
        "score_add" | "score_remove" => match json() {
            Some(j) => {
                let points = j.get("points").map(|p| p.as_str().map_or(p.to_string(), str::to_string)).unwrap_or_default();
                let mut s = format!("{} {} {} 分", text(&j, "date"), text(&j, "item"), points);
                if j.get("doubled").and_then(Value::as_bool) == Some(true) {
                    s.push_str("（引发负面舆情，翻倍）");
                }
                for (k, label) in [("work", "作品"), ("note", "备注")] {
                    if !text(&j, k).is_empty() {
                        s.push_str(&format!("，{label}：{}", text(&j, k)));
                    }
                }
                s
            }
            None => v.to_string(),
        },
        "link_attach" => match (crate::links::State::from_code(v), json()) {
            (Some(st), _) => st.label().to_string(),
            (None, Some(j)) => {
                let size = j.get("size").and_then(Value::as_i64).unwrap_or(0);
                format!("补交文件「{}」（{:.1} MB）", text(&j, "file"), size as f64 / 1_048_576.0)
            }
            _ => v.to_string(),
        },
        "user_add" | "user_role" => Role::parse(v).map_or(v.to_string(), |r| r.label().to_string()),
        "user_disable" | "user_enable" => match v {
            "active" => "正常".into(),
            "disabled" => "已停用".into(),
            _ => v.to_string(),
        },
        "user_passwd" => "已重置（密码不记录）".into(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_fields_are_read() {
        let o = r#"Package { id: 5, department: "图克派出所", cycle: "2024-03", accepted: 1, duplicates: 0 }"#;
        assert_eq!(debug_field(o, "cycle"), Some("2024-03"));
        assert_eq!(debug_field(o, "accepted"), Some("1"));
        assert_eq!(who("web:张三"), "张三（控制台）");
    }
}
