//! One configuration file's text, parsed once with the position of every key and
//! value, so that each error can say 第 N 行第 M 列 and the full key; toml's and
//! serde's English messages become Chinese ones with what was found, what is expected
//! and how to fix it.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml_edit::{ImDocument, Item, Table, Value};

use super::ConfigError;

/// A parsed file: its name as shown to people, its text, and where each key is.
pub struct Document<'a> {
    file: &'a str,
    text: &'a str,
    entries: Vec<Entry>,
}

struct Entry {
    /// "intake.deadline_day", "department[2].senders[0]" (indexes 0-based, as in `ConfigError::key`).
    path: String,
    /// From the key (or the table's header) to the end of the value.
    span: Range<usize>,
    /// The value itself; for a table, the header and everything under it.
    value: Range<usize>,
}

impl<'a> Document<'a> {
    /// Parses the TOML syntax; a syntax error comes back in Chinese with its line and column.
    pub fn parse(file: &'a str, text: &'a str) -> Result<Document<'a>, ConfigError> {
        let doc = ImDocument::parse(text).map_err(|e| syntax_error(file, text, e.span(), e.message()))?;
        let mut entries = Vec::new();
        walk_table(doc.as_table(), "", &mut entries);
        Ok(Document { file, text, entries })
    }

    /// The raw configuration struct; unknown keys, wrong types and missing keys come
    /// back in Chinese with the full key and position.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(self.text).map_err(|e| self.data_error(e.span(), e.message()))
    }

    /// Adds the position of `e`'s key (or of the nearest table around it that is
    /// written in this file) to an error found after parsing.
    pub fn locate(&self, mut e: ConfigError) -> ConfigError {
        if e.file != self.file || e.place.is_some() {
            return e;
        }
        let mut path = e.key.clone();
        loop {
            if let Some(entry) = self.entries.iter().find(|x| x.path == path) {
                e.set_place(self.text, entry.value.clone());
                return e;
            }
            match parent(&path) {
                Some(p) => path = p.to_string(),
                None => return e,
            }
        }
    }

    /// The innermost key whose key or value holds `at`'s start; failing that, the
    /// first key inside `at` (serde's span of a whole table, for a missing key).
    fn entry_at(&self, at: &Range<usize>) -> Option<&Entry> {
        let s = at.start;
        self.entries
            .iter()
            .filter(|x| x.span.start <= s && s < x.span.end.max(x.span.start + 1))
            .min_by_key(|x| x.span.len())
            .or_else(|| self.entries.iter().filter(|x| at.start <= x.span.start && x.span.start < at.end).min_by_key(|x| x.span.start))
    }

    fn data_error(&self, span: Option<Range<usize>>, msg: &str) -> ConfigError {
        let path = span.as_ref().and_then(|s| self.entry_at(s)).map(|x| x.path.clone()).unwrap_or_default();
        let found = span.as_ref().map(|s| snippet(self.text, s.clone())).unwrap_or_default();
        let (key, problem, fix) = translate_data(&path, &found, msg);
        let mut e = ConfigError::new(self.file, &key, problem, fix);
        if let Some(s) = span {
            e.set_place(self.text, s);
        }
        e
    }
}

fn walk_table(t: &Table, prefix: &str, out: &mut Vec<Entry>) {
    for (k, _) in t.iter() {
        if let Some((key, item)) = t.get_key_value(k) {
            walk_item(key.span(), item, join(prefix, k), out);
        }
    }
}

fn walk_item(key: Option<Range<usize>>, item: &Item, path: String, out: &mut Vec<Entry>) {
    match item {
        Item::None => {}
        Item::Value(v) => walk_value(key, v, path, out),
        Item::Table(t) => {
            push(out, &path, key, t.span());
            walk_table(t, &path, out);
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                push(out, &p, None, t.span());
                walk_table(t, &p, out);
            }
        }
    }
}

fn walk_value(key: Option<Range<usize>>, v: &Value, path: String, out: &mut Vec<Entry>) {
    push(out, &path, key, v.span());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk_value(None, x, format!("{path}[{i}]"), out);
            }
        }
        Value::InlineTable(t) => {
            for (k, _) in t.iter() {
                if let Some((key, item)) = t.get_key_value(k) {
                    walk_item(key.span(), item, join(&path, k), out);
                }
            }
        }
        _ => {}
    }
}

fn push(out: &mut Vec<Entry>, path: &str, key: Option<Range<usize>>, value: Option<Range<usize>>) {
    let Some(value) = value else { return };
    let span = match key {
        Some(k) => k.start.min(value.start)..k.end.max(value.end),
        None => value.clone(),
    };
    out.push(Entry { path: path.to_string(), span, value });
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// "department[2].senders[0]" → "department[2].senders" → "department[2]" → "department".
fn parent(path: &str) -> Option<&str> {
    if path.ends_with(']') {
        return path.rfind('[').map(|i| &path[..i]);
    }
    path.rfind('.').map(|i| &path[..i])
}

/// "department[2].senders[0]" → 3: the 1-based place in the outermost array of tables.
fn ordinal(path: &str) -> Option<(String, usize)> {
    let open = path.find('[')?;
    let close = path[open..].find(']')? + open;
    let n: usize = path[open + 1..close].parse().ok()?;
    Some((path[..open].to_string(), n + 1))
}

/// The source text at `span`, on one line and at most 40 characters.
fn snippet(text: &str, span: Range<usize>) -> String {
    let s = text.get(span).unwrap_or("");
    let first = s.lines().next().unwrap_or("").trim_end();
    let mut out: String = first.chars().take(40).collect();
    if first.chars().count() > 40 || s.trim_end().contains('\n') {
        out.push('…');
    }
    out
}

/// A value's kind in serde's words ("string \"25日\"", "integer `3`"), in Chinese.
fn kind(unexpected: &str, found: &str) -> &'static str {
    let looks_like_date = found.len() >= 10 && found.as_bytes()[4] == b'-' && found[..4].bytes().all(|b| b.is_ascii_digit());
    match unexpected.split([' ', ':']).next().unwrap_or("") {
        "string" => "字符串",
        "integer" => "整数",
        "floating" => "小数",
        "boolean" => "真假值",
        "sequence" => "列表",
        "map" if looks_like_date => "没加引号的日期",
        "map" => "表",
        _ => "值",
    }
}

/// What serde expected ("i64", "a string"), in Chinese, when the key has no hint.
fn expected_in_chinese(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "an integer" => "整数".into(),
        "f32" | "f64" => "数字".into(),
        "a string" => "加英文双引号的文字（字符串）".into(),
        "a boolean" => "true 或 false".into(),
        "a sequence" => "方括号括起来的列表".into(),
        e if e.starts_with("struct ") || e == "a map" => "一个表（[表名] 开头的一段）".into(),
        e => e.into(),
    }
}

/// For every key a person may write: what it takes, and a line to copy.
const HINTS: &[(&str, &str, &str)] = &[
    ("intake", "一个表", "[intake]"),
    ("intake.timezone", "IANA 时区名（字符串）", "timezone = \"Asia/Shanghai\""),
    ("intake.deadline_day", "1 到 28 的整数", "deadline_day = 25"),
    ("intake.departments_file", "文件路径（字符串）", "departments_file = \"departments.toml\""),
    ("intake.categories_file", "文件路径（字符串）", "categories_file = \"categories.toml\""),
    ("storage", "一个表", "[storage]"),
    ("storage.data_dir", "目录路径（字符串）", "data_dir = \"/srv/baosong/data\""),
    ("storage.database_url", "数据库地址（字符串）", "database_url = \"sqlite:///srv/baosong/data/baosong.db\""),
    ("limits", "一个表", "[limits]"),
    ("limits.max_unpacked_size", "带单位的大小（字符串）", "max_unpacked_size = \"4GiB\""),
    ("limits.max_file_size", "带单位的大小（字符串）", "max_file_size = \"64MiB\""),
    ("limits.max_archive_entries", "正整数", "max_archive_entries = 5000"),
    ("limits.max_compression_ratio", "正整数", "max_compression_ratio = 200"),
    ("limits.max_nesting_depth", "正整数", "max_nesting_depth = 3"),
    ("limits.max_mime_parts", "正整数", "max_mime_parts = 1000"),
    ("limits.max_mime_depth", "正整数", "max_mime_depth = 30"),
    ("imap", "一个表", "[imap]"),
    ("imap.provider", "邮箱服务商（字符串）", "provider = \"qq\""),
    ("imap.host", "服务器名（字符串）", "host = \"imap.qq.com\""),
    ("imap.port", "1 到 65535 的整数", "port = 993"),
    ("imap.tls", "加密方式（字符串）", "tls = \"tls\""),
    ("imap.allow_insecure", "true 或 false", "allow_insecure = false"),
    ("imap.user", "邮箱地址（字符串）", "user = \"1605739848@qq.com\""),
    ("imap.password_env", "环境变量名（字符串）", "password_env = \"BAOSONG_IMAP_PASSWORD\""),
    ("imap.password_file", "文件路径（字符串）", "password_file = \"imap-password\""),
    ("imap.ca_file", "文件路径（字符串）", "ca_file = \"ca.pem\""),
    ("imap.folders", "文件夹名的列表", "folders = [\"INBOX\"]"),
    ("imap.scan_junk", "true 或 false", "scan_junk = true"),
    ("imap.backfill_since", "加引号的日期（字符串）", "backfill_since = \"2024-01-01\""),
    ("imap.idle", "true 或 false", "idle = true"),
    ("imap.idle_timeout", "时长（字符串）", "idle_timeout = \"5m\""),
    ("imap.poll_interval", "时长（字符串）", "poll_interval = \"2m\""),
    ("imap.chunk_size", "带单位的大小（字符串）", "chunk_size = \"8MiB\""),
    ("imap.after_ingest", "处理方式（字符串）", "after_ingest = \"none\""),
    ("imap.stale_after", "时长（字符串）", "stale_after = \"30m\""),
    ("imap.timeout", "时长（字符串）", "timeout = \"2m\""),
    ("smtp", "一个表", "[smtp]"),
    ("smtp.provider", "邮箱服务商（字符串）", "provider = \"qq\""),
    ("smtp.host", "服务器名（字符串）", "host = \"smtp.qq.com\""),
    ("smtp.port", "1 到 65535 的整数", "port = 465"),
    ("smtp.tls", "加密方式（字符串）", "tls = \"tls\""),
    ("smtp.user", "邮箱地址（字符串）", "user = \"1605739848@qq.com\""),
    ("smtp.password_env", "环境变量名（字符串）", "password_env = \"BAOSONG_SMTP_PASSWORD\""),
    ("smtp.password_file", "文件路径（字符串）", "password_file = \"smtp-password\""),
    ("smtp.ca_file", "文件路径（字符串）", "ca_file = \"ca.pem\""),
    ("smtp.from", "发件人（字符串）", "from = \"乌审旗公安局宣传工作领导小组办公室 <1605739848@qq.com>\""),
    ("smtp.timeout", "时长（字符串）", "timeout = \"1m\""),
    ("notify", "一个表", "[notify]"),
    ("notify.office", "邮箱地址的列表", "office = [\"1605739848@qq.com\"]"),
    ("notify.digest_time", "时间（字符串）", "digest_time = \"08:00\""),
    ("notify.reminder_time", "时间（字符串）", "reminder_time = \"09:00\""),
    ("notify.quiet_hours", "时段（字符串）", "quiet_hours = \"22:00-07:00\""),
    ("notify.receipts", "true 或 false", "receipts = true"),
    ("notify.remind_days_before", "0 到 28 的整数", "remind_days_before = 3"),
    ("notify.remind_on_deadline", "true 或 false", "remind_on_deadline = true"),
    ("notify.overdue_every_days", "1 到 28 的整数", "overdue_every_days = 3"),
    ("notify.overdue_for_days", "1 到 28 的整数", "overdue_for_days = 14"),
    ("notify.templates_dir", "目录路径（字符串）", "templates_dir = \"templates\""),
    ("inspect", "一个表", "[inspect]"),
    ("inspect.min_photo_long_side", "正整数（像素）", "min_photo_long_side = 1600"),
    ("inspect.min_video_short_side", "正整数（像素）", "min_video_short_side = 720"),
    ("inspect.blur_threshold", "数字", "blur_threshold = 100.0"),
    ("inspect.old_capture_days", "正整数（天）", "old_capture_days = 60"),
    ("inspect.short_video_seconds", "数字（秒）", "short_video_seconds = 3"),
    ("inspect.near_duplicate_distance", "0 到 64 的整数", "near_duplicate_distance = 6"),
    ("inspect.recompressed_bits_per_pixel", "数字", "recompressed_bits_per_pixel = 1.0"),
    ("inspect.max_pixels", "正整数", "max_pixels = 250000000"),
    ("inspect.max_decode_memory", "带单位的大小（字符串）", "max_decode_memory = \"96MiB\""),
    ("inspect.thumbnails", "true 或 false", "thumbnails = true"),
    ("department", "单位的列表", "[[department]]"),
    ("department.name", "单位全称（字符串）", "name = \"嘎鲁图派出所\""),
    ("department.aliases", "别名的列表", "aliases = [\"嘎鲁图所\", \"嘎鲁图镇派出所\"]"),
    ("department.senders", "邮箱地址的列表", "senders = [\"gltpcs@163.com\"]"),
    ("department.contacts", "邮箱地址的列表", "contacts = [\"gltpcs@163.com\"]"),
    ("department.escalation", "邮箱地址的列表", "escalation = [\"zhang@163.com\"]"),
    ("category", "类别的列表", "[[category]]"),
    ("category.number", "1 到 10 的整数", "number = 1"),
    ("category.name", "类别名称（字符串）", "name = \"党的建设\""),
    ("category.keywords", "关键词的列表", "keywords = [\"党建\", \"主题党日\"]"),
];

fn hint(shown_key: &str) -> Option<(&'static str, &'static str)> {
    HINTS.iter().find(|h| h.0 == shown_key).map(|h| (h.1, h.2))
}

/// Keys in serde's "expected `a`, `b`" list.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The candidate closest to `typed`, when it is close enough to be what was meant.
pub fn closest<'k>(typed: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let t = typed.to_lowercase().replace('-', "_");
    candidates
        .iter()
        .map(|c| (levenshtein(&t, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (t.chars().count() / 3).max(2) || (t.chars().count() >= 4 && (c.contains(t.as_str()) || t.contains(*c))))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// "应为" + a description starting with a digit or a Latin letter reads "应为 1 到 28 的整数".
fn should_be(expected: &str) -> String {
    if expected.starts_with(|c: char| c.is_ascii_alphanumeric()) { format!("应为 {expected}") } else { format!("应为{expected}") }
}

/// "where" in a problem: "第 3 个 [[department]] " for a key inside an array of tables.
fn within(path: &str) -> String {
    match ordinal(path) {
        Some((table, n)) => format!("第 {n} 个 [[{table}]] "),
        None => String::new(),
    }
}

/// serde's message about the value at `path` → (key, problem, fix).
fn translate_data(path: &str, found: &str, msg: &str) -> (String, String, String) {
    let shown = ConfigError::shown_key(path);
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (typed, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = backticked(expected);
        let table = parent(&shown).map(str::to_string);
        let in_array = parent(path).is_some_and(|p| p.ends_with(']'));
        let (problem, list) = match &table {
            Some(t) if in_array => (format!("{}中没有 `{typed}` 这一项", within(path)), format!("[[{t}]] 中可写的键：{}", valid.join("、"))),
            Some(t) => (format!("[{t}] 中没有 `{typed}` 这一项"), format!("[{t}] 中可写的键：{}", valid.join("、"))),
            None => (format!("没有 [{typed}] 这个表，也没有 `{typed}` 这一项"), format!("可写的表：{}", valid.iter().map(|v| format!("[{v}]")).collect::<Vec<_>>().join("、"))),
        };
        let fix = match (closest(typed, &valid), valid.is_empty()) {
            (_, true) => "删去这一项：这里不能写任何键".to_string(),
            (Some(c), _) => format!("你是不是想写 `{c}`？请改正拼写。{list}"),
            (None, _) => format!("检查拼写，或删去这一项。{list}"),
        };
        return (path.to_string(), problem, fix);
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("");
        let key = join(path, field);
        let shown = ConfigError::shown_key(&key);
        let example = hint(&shown).map(|h| h.1.to_string()).unwrap_or_else(|| format!("{field} = …"));
        let problem = format!("{}缺少必填的 `{field}`", within(path));
        return (key, problem, format!("在这个表里加一行，例如 {example}"));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (unexpected, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let found_kind = kind(unexpected, found);
            let (want, example) = match hint(&shown) {
                Some((w, e)) => (w.to_string(), e.to_string()),
                None => (expected_in_chinese(expected), String::new()),
            };
            let element = path.ends_with(']') && !shown.is_empty();
            let problem = format!(
                "{}{}写的是 {found}（{found_kind}），{}",
                within(path),
                if element { "列表中的一项" } else { "" },
                should_be(&if element { expected_in_chinese(expected) } else { want })
            );
            let numeric = matches!(expected, "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "f32" | "f64");
            let advice = match expected {
                _ if element => "列表中的每一项都用英文双引号括起来".to_string(),
                _ if numeric && found_kind == "字符串" => "数字不加引号，也不带汉字或单位".to_string(),
                _ if numeric => "写一个数字".to_string(),
                "a string" if found_kind == "没加引号的日期" => "日期也要用英文双引号括起来".to_string(),
                "a string" => "文字要用英文双引号括起来".to_string(),
                "a boolean" => "写 true 或 false（小写，不加引号）".to_string(),
                "a sequence" => "即使只有一项，也写成方括号括起来的列表".to_string(),
                e if e.starts_with("struct ") => format!("[{shown}] 是一个表：单独一行写 [{shown}]，下面每行写一个 键 = 值"),
                _ => "按示例改正".to_string(),
            };
            let fix = if example.is_empty() || element || expected.starts_with("struct ") {
                advice
            } else {
                format!("{advice}，例如 {example}")
            };
            return (path.to_string(), problem, fix);
        }
    }
    if msg.starts_with("number too large") {
        return (path.to_string(), format!("数字 {found} 太大"), "填合理范围内的整数".into());
    }
    (
        path.to_string(),
        format!("无法读取这个值（{}）", msg.lines().next().unwrap_or(msg)),
        "对照 config/ 中带注释的示例改正这一项".into(),
    )
}

/// A TOML syntax error → ConfigError with its position, the key on that line and the fix.
fn syntax_error(file: &str, text: &str, span: Option<Range<usize>>, msg: &str) -> ConfigError {
    let start = span.as_ref().map(|s| s.start.min(text.len())).unwrap_or(0);
    let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[start..].find('\n').map(|i| start + i).unwrap_or(text.len());
    let line = &text[line_start..line_end];
    let before = &text[line_start..start];
    let rest = &text[start..line_end];
    let at = rest.chars().next();
    let word: String = rest.chars().take_while(|c| !c.is_whitespace() && !matches!(c, '#' | ',' | ']' | '}')).collect();
    // The key on this line, under the last table header above it.
    let key_part = line.split(['=', '：', '＝', ':']).next().unwrap_or("").trim();
    let is_key = !key_part.is_empty() && key_part.len() < line.trim().len() && key_part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let key = if is_key { join(&table, key_part) } else { String::new() };
    let leaf = if is_key { key_part } else { "key" };
    let first = msg.lines().next().unwrap_or("");
    let (problem, fix): (String, String) = if let Some(dup) = msg.lines().find(|l| l.starts_with("duplicate key `")) {
        let names = backticked(dup);
        let name = names.first().copied().unwrap_or("");
        if first == "invalid table header" {
            (format!("表头 [{name}] 出现了两次"), format!("同一个表头只能写一次：把两处 [{name}] 下面的内容合并到一处"))
        } else {
            (format!("`{}` 写了两次", join(if dup.contains("document root") { "" } else { names.get(1).copied().unwrap_or("") }, name)), "同一个键只能写一次：删去其中一行".into())
        }
    } else if matches!(at, Some('“' | '”' | '‘' | '’')) {
        ("用了中文引号".into(), format!("改用英文半角双引号，例如 {leaf} = \"{}\"", word.trim_matches(['“', '”', '‘', '’'])))
    } else if matches!(at, Some('：' | '＝')) {
        (format!("用了中文标点“{}”", at.unwrap_or(' ')), format!("键和值之间用英文半角等号 =，例如 {leaf} = …"))
    } else if matches!(at, Some('，' | '、')) {
        (format!("用了中文标点“{}”", at.unwrap_or(' ')), "列表中的各项用英文半角逗号 , 分隔，例如 senders = [\"a@qq.com\", \"b@163.com\"]".into())
    } else if matches!(at, Some('【' | '】' | '［' | '］')) {
        (format!("用了中文方括号“{}”", at.unwrap_or(' ')), "表头用英文半角方括号，例如 [intake]".into())
    } else if first == "invalid string" {
        if rest.trim().is_empty() {
            ("等号后面没有写值".into(), format!("在 = 后面写上值，或删去这一行使用默认值，例如 {}", example_for(&key).unwrap_or_else(|| format!("{leaf} = \"…\""))))
        } else if matches!(word.as_str(), "True" | "False" | "TRUE" | "FALSE") {
            (format!("{word} 写法不对"), format!("写成小写的 true 或 false，例如 {leaf} = {}", word.to_lowercase()))
        } else {
            (format!("值 {word} 没有加引号"), format!("文字要用英文双引号括起来，例如 {leaf} = \"{word}\"；数字、true 和 false 不加引号"))
        }
    } else if first.contains("escape") {
        ("字符串中的反斜杠 \\ 后面不是有效的转义".into(), "路径用 / 分隔，例如 \"/srv/baosong/data\"；确需写反斜杠时，把整个值改用英文单引号括起来".into())
    } else if first.contains("multiline") {
        ("三引号没有配对：多行字符串缺少结尾的 \"\"\"".into(), "补上结尾的 \"\"\"，或改成一行内的普通字符串".into())
    } else if first.contains("string") {
        ("引号没有配对：字符串缺少结尾的引号".into(), "在值的末尾补上同样的引号（英文半角 \" 或 '）".into())
    } else if first == "invalid table header" {
        ("表头写得不对".into(), "表头独占一行，写成 [intake] 或 [[department]]，用英文半角方括号".into())
    } else if first == "invalid array" {
        ("列表没有正确结束".into(), "列表写成 [\"a\", \"b\"]：各项之间用英文逗号，最后用 ] 结束".into())
    } else if first == "invalid inline table" {
        ("花括号 { } 没有正确结束".into(), "写成 { 键 = 值, 键 = 值 }，并在同一行内用 } 结束".into())
    } else if first.starts_with("expected newline") {
        (format!("值后面多了内容“{}”", rest.trim_end()), "一行只写一个 键 = 值；说明文字写在 # 后面".into())
    } else if first == "expected `.`, `=`" || (first == "invalid key" && before.trim().is_empty() && is_key) {
        ("键后面缺少等号 =".into(), format!("写成 键 = 值，例如 {}", example_for(&key).unwrap_or_else(|| "deadline_day = 25".into())))
    } else if first == "invalid key" {
        ("这一行不是 键 = 值，也不是表头".into(), "键名只用英文字母、数字、下划线和短横线；说明文字请在行首加 #".into())
    } else if first.starts_with("number too large") {
        (format!("数字 {word} 太大"), "填合理范围内的整数".into())
    } else if first.contains("integer") || first.contains("float") || first.contains("number") {
        (format!("数字 {word} 写法不对"), "写成普通的整数或小数，例如 25 或 1.5；文字要加英文双引号".into())
    } else {
        (format!("TOML 格式不对（{first}）"), "对照 config/ 中带注释的示例改正这一行".into())
    };
    // toml points at one character; mark the whole word it belongs to.
    let end = span.map(|s| s.end).unwrap_or(start).max(start);
    let widen = at.is_some_and(char::is_alphanumeric) && end - start <= at.map_or(0, char::len_utf8);
    let end = if widen { start + word.len() } else { end };
    let mut e = ConfigError::new(file, &key, format!("格式错误：{problem}"), fix);
    e.set_place(text, start..end);
    e
}

fn example_for(key: &str) -> Option<String> {
    hint(&ConfigError::shown_key(key)).map(|h| h.1.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["timezone", "deadline_day", "departments_file", "categories_file"];
        assert_eq!(closest("deadlineday", &keys), Some("deadline_day"));
        assert_eq!(closest("Deadline-Day", &keys), Some("deadline_day"));
        assert_eq!(closest("time_zone", &keys), Some("timezone"));
        assert_eq!(closest("departments", &keys), Some("departments_file"));
        assert_eq!(closest("xyz", &keys), None);
        assert_eq!(closest("sender", &["name", "aliases", "senders", "contacts", "escalation"]), Some("senders"));
    }

    #[test]
    fn paths_of_errors() {
        let text = "[intake]\ndeadline_day = 25\n\n[[department]]\nname = \"a\"\nsenders = [\"x\", 3]\n[[department]]\nsenders = []\n";
        let d = Document::parse("f", text).unwrap();
        let at = |needle: &str| {
            let s = text.find(needle).unwrap();
            d.entry_at(&(s..s + needle.len())).map(|e| e.path.clone())
        };
        assert_eq!(at("25").as_deref(), Some("intake.deadline_day"));
        assert_eq!(at("3]").as_deref(), Some("department[0].senders[1]"));
        assert_eq!(at("senders = []").as_deref(), Some("department[1].senders"));
        assert_eq!(parent("department[2].senders[0]"), Some("department[2].senders"));
        assert_eq!(parent("department[2]"), Some("department"));
        assert_eq!(parent("department"), None);
    }
}
