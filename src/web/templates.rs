//! The console's pages: minijinja templates compiled into the binary, HTML-escaped.

use axum::response::Html;
use minijinja::Environment;

use super::Failure;

const TEMPLATES: [(&str, &str); 13] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("board.html", include_str!("templates/board.html")),
    ("board_table.html", include_str!("templates/board_table.html")),
    ("gallery.html", include_str!("templates/gallery.html")),
    ("item.html", include_str!("templates/item.html")),
    ("review.html", include_str!("templates/review.html")),
    ("status.html", include_str!("templates/status.html")),
    ("search.html", include_str!("templates/search.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("users.html", include_str!("templates/users.html")),
    ("scores.html", include_str!("templates/scores.html")),
    ("people.html", include_str!("templates/people.html")),
];

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> anyhow::Result<Pages> {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text).map_err(|e| anyhow::anyhow!("控制台模板 {name} 有误：{e:#}"))?;
        }
        Ok(Pages { env })
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<Html<String>, Failure> {
        let t = self.env.get_template(name).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok(Html(t.render(ctx).map_err(|e| anyhow::anyhow!("页面 {name} 生成失败：{e:#}"))?))
    }
}

/// Text made safe inside HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        super::Pages::new().unwrap();
    }
}
