//! The mail templates, and the 通报's (tongbao.txt): defaults shipped in config/templates, overridden file by file
//! from `notify.templates_dir`. Their syntax is checked when they are loaded; at
//! start-up `app::load_config` also renders each with the sample values `notify` gives
//! (`check`), so a broken template is a configuration error, not a failed send.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config_error::ConfigError;

const DEFAULTS: [(&str, &str); 7] = [
    ("receipt.txt", include_str!("../config/templates/receipt.txt")),
    ("reminder.txt", include_str!("../config/templates/reminder.txt")),
    ("digest.txt", include_str!("../config/templates/digest.txt")),
    ("digest.html", include_str!("../config/templates/digest.html")),
    ("link_result.txt", include_str!("../config/templates/link_result.txt")),
    ("link_reminder.txt", include_str!("../config/templates/link_reminder.txt")),
    // The 通报's words (report tongbao, the console's 下载通报), checked with the mail templates.
    ("tongbao.txt", include_str!("../config/templates/tongbao.txt")),
];

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load(dir: Option<&std::path::Path>) -> Result<Templates, ConfigError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(false);
        for (name, default) in DEFAULTS {
            let (source, shown) = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(p) => (
                    std::fs::read_to_string(&p).map_err(|e| ConfigError::new(&p.display().to_string(), "(文件)", format!("无法读取：{e}"), "检查文件权限"))?,
                    p.display().to_string(),
                ),
                None => (default.to_string(), format!("内置模板 {name}")),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| ConfigError::new(&shown, "(模板语法)", e.to_string(), "按 config/templates 中的示例改正模板语法"))?;
        }
        Ok(Templates { env })
    }

    /// Renders each named template with its sample values (`notify::samples`); an
    /// unknown variable is an error.
    pub fn check(&self, samples: &[(&str, serde_json::Value)]) -> Result<(), ConfigError> {
        for (name, ctx) in samples {
            self.render(name, &ctx).map_err(|e| ConfigError::new(name, "(模板)", e, "检查模板中的变量名，可用变量见模板开头的说明"))?;
        }
        Ok(())
    }

    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, String> {
        let t = self.env.get_template(name).map_err(|e| e.to_string())?;
        t.render(ctx).map_err(|e| format!("{e:#}"))
    }
}
