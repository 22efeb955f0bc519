//! E-mail addresses as people write them in the configuration files: a light check
//! that answers with the problem and the fix in Chinese. A leaf: config.rs and the
//! roster both use it.

/// `check_address` for an address that may carry a name: "办公室 <1605739848@qq.com>".
pub fn check_mailbox(text: &str) -> Result<(), (String, String)> {
    match text.trim().strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
        Some((_, addr)) => check_address(addr.trim()),
        None => check_address(text),
    }
}

/// A light check of an e-mail address as people write it in the config: one `@`,
/// something before it, a domain with a dot after it, no spaces or separators.
/// QQ numbers (12345@qq.com) are fine. Err is (problem, fix) in Chinese.
pub fn check_address(addr: &str) -> Result<(), (String, String)> {
    let example = "写成完整的邮箱地址，例如 \"1605739848@qq.com\" 或 \"gltpcs@163.com\"";
    let bad = |why: &str| Err((format!("\"{addr}\" 不是有效的邮箱地址：{why}"), example.to_string()));
    if addr.trim().is_empty() {
        return bad("地址是空的");
    }
    if addr.contains('＠') {
        return Err((format!("\"{addr}\" 中的 ＠ 是中文全角符号"), "改用英文半角的 @".into()));
    }
    if addr.contains([',', ';', '，', '；', '、']) {
        return Err((format!("\"{addr}\" 像是把几个地址写在了一起"), "每个地址单独加引号，用英文逗号分隔，例如 [\"a@qq.com\", \"b@163.com\"]".into()));
    }
    if addr.chars().any(|c| c.is_whitespace()) {
        return bad("中间有空格");
    }
    if addr.contains(['<', '>', '"', '(', ')', '[', ']']) {
        return bad("只写地址本身，不要带名字或括号");
    }
    let Some((local, domain)) = addr.split_once('@') else {
        return bad("缺少 @");
    };
    if domain.contains('@') {
        return bad("有不止一个 @");
    }
    if local.is_empty() {
        return bad("@ 前面是空的");
    }
    if !domain.contains('.') {
        let fix = match domain.to_ascii_lowercase().as_str() {
            "qq" | "163" | "126" | "sina" | "sohu" | "foxmail" | "yeah" | "139" | "189" | "outlook" | "hotmail" | "gmail" => {
                format!("写成完整地址，例如 \"{local}@{domain}.com\"")
            }
            _ => example.to_string(),
        };
        return Err((format!("\"{addr}\" 不是有效的邮箱地址：@ 后面的域名不完整（缺少 .com 之类的后缀）"), fix));
    }
    if domain.split('.').any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-')) {
        return bad("@ 后面的域名写得不对");
    }
    Ok(())
}
