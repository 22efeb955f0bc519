//! Set-up and operations (issue 11): SMTP failures that hold mail instead of failing
//! it, notices that say what to configure, the command line's help and formats, and
//! the deployment as shipped.

use serde_json::Value;

use crate::dovecot::{Dovecot, Relay, SMTP_USER};
use crate::harness::App;

const ROSTER: &str = r#"
[[department]]
name = "嘎鲁图派出所"
aliases = ["嘎鲁图所"]
senders = ["gltpcs@163.com"]
contacts = ["gltpcs@example.test"]

[[department]]
name = "图克派出所"
senders = ["tkpcs@qq.com"]
contacts = ["tkpcs@example.test"]
"#;

fn outbox(app: &App) -> Vec<Value> {
    serde_json::from_str::<Value>(&app.ok(&["outbox", "list", "--json"])).unwrap().as_array().unwrap().clone()
}

#[test]
fn a_refused_smtp_login_holds_the_outbox_and_the_fixed_password_sends_it() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "office = [\"office@example.test\"]");
    app.set_roster(ROSTER);
    let wrong = [("BAOSONG_TEST_SMTP_PASSWORD", "jiudeshouquanma")];
    let r = app.run_env(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"], &wrong);
    println!("{}\n{}", r.stdout, r.stderr);
    assert!(!r.ok, "a held outbox is not success");
    assert!(r.stdout.contains("新放入发件箱的提醒 2 封"), "{}", r.stdout);
    let reason = format!("发信邮箱 {SMTP_USER} 登录被拒绝（服务器答复：permanent error (535): ");
    assert!(r.stdout.contains(&format!("发信暂停：{reason}")), "{}", r.stdout);
    assert!(
        r.stdout.contains("授权码错误或已更换：请在邮箱网页版重新生成授权码，写入 smtp.password_file 指定的文件（或 BAOSONG_TEST_SMTP_PASSWORD 环境变量），再运行 baosong outbox flush。\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("发件箱中 2 封待发邮件都保留着，不会丢失；baosong run 每 30 分钟自动重试。"), "{}", r.stdout);
    // Nothing failed, nothing counted as an attempt.
    let rows = outbox(&app);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["state"] == "pending" && r["attempts"] == 0), "{rows:?}");
    // The board shows the hold; a second try with the wrong code keeps it, still failing nothing.
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"]);
    assert!(status.contains("⚠ 发信已暂停（") && status.contains(&reason), "{status}");
    assert!(status.contains("。\n  发件箱中 2 封待发邮件都保留着，不会丢失；每 30 分钟自动重试一次（下次 "), "{status}");
    let board: Value = serde_json::from_str(&app.ok(&["status", "--json", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"])).unwrap();
    let hold = &board["outbox_hold"][0];
    assert_eq!(hold["waiting"], 2, "{board}");
    assert!(hold["account"].as_str().unwrap().starts_with(SMTP_USER), "{hold}");
    let printed = app.ok(&["digest", "--date", "2024-03-22", "--print"]);
    assert!(printed.contains("⚠ 发信已暂停（") && printed.contains("发件箱中 2 封待发邮件都保留着，每 30 分钟自动重试。"), "{printed}");
    assert!(!app.run_env(&["outbox", "flush"], &wrong).ok);
    assert!(outbox(&app).iter().all(|r| r["state"] == "pending"));
    // The right 授权码: everything goes, and the hold is gone from the board.
    let out = app.ok(&["outbox", "flush"]);
    assert!(out.contains("发送：成功 2 封，被拒 0 封，暂缓重试 0 封。"), "{out}");
    assert!(outbox(&app).iter().all(|r| r["state"] == "sent"));
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"]);
    assert!(!status.contains("发信已暂停"), "{status}");
    assert_eq!(d.client().count("INBOX"), 2);
}

/// The entries of a help text's "Arguments:" and "Options:" sections: (name, text).
fn help_entries(help: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            inside = line == "Arguments:" || line == "Options:";
            continue;
        }
        if !inside || !line.starts_with("  ") {
            continue;
        }
        let entry = line.trim_start();
        if entry.starts_with('-') || entry.starts_with('<') || entry.starts_with('[') {
            let (name, text) = entry.split_once("  ").unwrap_or((entry, ""));
            out.push((name.to_string(), text.trim().to_string()));
        } else if let Some(last) = out.last_mut() {
            last.1 += line.trim(); // a wrapped help text
        }
    }
    out
}

#[test]
fn every_option_of_every_subcommand_has_chinese_help_with_an_example() {
    let app = App::new();
    let top = app.ok(&["--help"]);
    assert!(top.starts_with("报送 baosong：接收各单位每月邮件报送的宣传照片和视频"), "{top}");
    let mut commands: Vec<Vec<&str>> = vec![vec![]];
    let names: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 17, "{names:?}");
    for n in &names {
        commands.push(vec![n.as_str()]);
    }
    for nested in [
        ["quarantine", "list"],
        ["quarantine", "approve"],
        ["quarantine", "reject"],
        ["outbox", "list"],
        ["outbox", "flush"],
        ["tree", "rebuild"],
        ["score", "add"],
        ["score", "list"],
        ["score", "remove"],
        ["export", "board"],
        ["export", "items"],
        ["export", "scores"],
    ] {
        commands.push(nested.to_vec());
    }
    let mut missing = Vec::new();
    for c in &commands {
        let mut args = c.clone();
        args.push("--help");
        let help = app.ok(&args);
        let entries = help_entries(&help);
        assert!(!entries.is_empty(), "{c:?}: {help}");
        for (name, text) in entries {
            let chinese = text.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch));
            if !chinese || !text.contains("例") {
                missing.push(format!("baosong {} {name}：「{text}」", c.join(" ")));
            }
        }
    }
    assert!(missing.is_empty(), "options without Chinese help and an example:\n{}", missing.join("\n"));
}

#[test]
fn check_config_logs_in_to_smtp_and_passes_only_at_the_end() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "office = [\"office@example.test\"]");
    let r = app.run_env(&["check-config"], &[("BAOSONG_TEST_SMTP_PASSWORD", "jiudeshouquanma")]);
    assert!(!r.ok);
    assert!(r.stdout.contains(&format!("发信邮箱：{SMTP_USER}（localhost:{}）\n发信检查失败：发信邮箱 {SMTP_USER} 登录被拒绝（服务器答复：permanent error (535): ", relay.port)), "{}", r.stdout);
    assert!(!r.stdout.contains("配置检查通过"), "{}", r.stdout);
    assert!(r.stdout.ends_with("配置检查未通过：请按上面的提示修改，再运行 baosong check-config。\n"), "{}", r.stdout);
    let out = app.ok(&["check-config"]);
    assert!(out.contains("发信邮箱登录成功（未发送任何邮件）。\n配置检查通过。\n"), "{out}");
    assert_eq!(d.client().count("INBOX"), 0, "nothing sent");
}

#[test]
fn every_notify_path_without_smtp_notify_or_an_address_says_what_to_configure() {
    // [notify] without [smtp]: check-config fails and says so.
    let app = App::with_config("[notify]\noffice = [\"office@example.test\"]\n");
    let origin = app.config().display().to_string();
    let r = app.run(&["check-config"]);
    assert!(!r.ok);
    assert!(
        r.stdout.contains(&format!("已配置 [notify]，但没有 [smtp]：回执、每日汇总和提醒都无法发出。请在 {origin} 中加上 [smtp] 一节（provider、user、password_file、from；示例见 config/baosong.toml）。\n")),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("配置检查通过"), "{}", r.stdout);
    // Reminders must name the mailbox to send to; with neither [imap] nor [smtp] there is none.
    let r = app.run(&["remind", "--as-of", "2024-03-22", "--dry-run"]);
    assert!(!r.ok);
    assert_eq!(r.stderr.trim(), "错误：提醒里要写明报送邮箱地址，但配置里没有：配置 [imap]（user 即各单位报送的邮箱）或 [smtp]（user），示例见 config/baosong.toml");
    let r = app.run(&["digest", "--date", "2024-03-22", "--send"]);
    assert_eq!(
        r.stderr.trim(),
        format!("错误：{origin} 中没有 [smtp] 配置，无法发信：加上 [smtp] 一节（provider、user、password_file、from；示例见 config/baosong.toml 的 [smtp] 一节），再运行 baosong check-config 检查")
    );
    // No [notify] at all.
    let app = App::new();
    let origin = app.config().display().to_string();
    let r = app.run(&["digest", "--date", "2024-03-22", "--print"]);
    assert_eq!(
        r.stderr.trim(),
        format!("错误：{origin} 中没有 [notify] 配置，无法生成每日汇总：加上 [notify] 一节，写明汇总发给谁，例如 office = [\"1605739848@qq.com\"]（示例见 config/baosong.toml）")
    );
    let r = app.run(&["remind", "--dry-run"]);
    assert_eq!(
        r.stderr.trim(),
        format!("错误：{origin} 中没有 [notify] 配置，不生成提醒：加上 [notify] 一节（可以只写 [notify] 这一行，提醒时间等用默认值；示例见 config/baosong.toml）")
    );
    // [notify] without office: the digest has nobody to go to, and says so.
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    let origin = app.config().display().to_string();
    let printed = app.ok(&["digest", "--date", "2024-03-22", "--print"]);
    assert!(printed.starts_with("收件人：（没有，不会发出）\n"), "{printed}");
    assert!(printed.ends_with(&format!("\n注意：notify.office 没有写收件地址，这份汇总不会发出。在 {origin} 的 [notify] 中写 office = [\"办公室邮箱\"]。\n")), "{printed}");
    let r = app.run(&["digest", "--date", "2024-03-22", "--send"]);
    assert_eq!(r.stderr.trim(), format!("错误：每日汇总没有收件人：在 {origin} 的 [notify] 中写 office = [\"办公室邮箱\"]，例如 office = [\"1605739848@qq.com\"]"));
    // A reminder with an address: the mailbox is named, never "发送到 。".
    let out = app.ok(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--dry-run"]);
    assert!(out.contains(&format!("发送到 {SMTP_USER}。")) && !out.contains("发送到 。"), "{out}");
}

#[test]
fn as_of_takes_a_date_alone_as_the_end_of_that_day() {
    let app = App::new();
    let board = app.status("2024-03", "2024-03-28");
    assert_eq!(board["as_of"], "2024-03-28T23:59:59+08:00");
    let board = app.status("2024-03", "2024-03-28 12:00");
    assert_eq!(board["as_of"], "2024-03-28T12:00:00+08:00");
    let r = app.run(&["status", "--as-of", "3月28日"]);
    assert_eq!(
        r.stderr.trim(),
        "错误：时间 \"3月28日\" 格式不对：写日期，如 2024-03-28（指当天结束，即 23:59:59）；或日期和时间，如 \"2024-03-28 12:00\"；或带时区的 2024-03-28T12:00:00+08:00"
    );
    let help = app.ok(&["status", "--help"]);
    assert!(help.contains("只写日期指当天结束（23:59:59，本地时间）"), "{help}");
}

/// The value of `key=` in a systemd unit (the last one wins, as in systemd).
fn unit_value(unit: &str, key: &str) -> Vec<String> {
    unit.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).collect()
}

#[test]
fn the_import_unit_runs_as_written_with_config_in_etc_and_data_in_srv() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().unwrap();
    let (etc, srv) = (root.path().join("etc/baosong"), root.path().join("srv/baosong"));
    let place = |s: &str| s.replace("/etc/baosong", etc.to_str().unwrap()).replace("/srv/baosong", srv.to_str().unwrap()).replace("/usr/local/bin/baosong", env!("CARGO_BIN_EXE_baosong"));
    // /etc/baosong laid out as deploy/README.md says: the shipped server config (without
    // the sending part, which would reach for smtp.qq.com), the roster, the 授权码 file 0400.
    std::fs::create_dir_all(&etc).unwrap();
    let shipped = std::fs::read_to_string(repo.join("deploy/baosong.toml")).unwrap();
    let config = shipped.split("# 发信邮箱").next().unwrap();
    assert!(config.contains("data_dir = \"/srv/baosong/data\"") && config.contains("password_file = \"imap-password\""), "{config}");
    std::fs::write(etc.join("baosong.toml"), place(config)).unwrap();
    std::fs::copy(repo.join("config/departments.toml"), etc.join("departments.toml")).unwrap();
    std::fs::write(etc.join("imap-password"), "shouquanma\n").unwrap();
    std::fs::set_permissions(etc.join("imap-password"), std::os::unix::fs::PermissionsExt::from_mode(0o400)).unwrap();
    // /srv/baosong with the export folder the unit reads.
    let export = srv.join("export");
    std::fs::create_dir_all(&export).unwrap();
    for e in std::fs::read_dir(repo.join("tests/fixtures/sample-mailbox")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), export.join(e.file_name())).unwrap();
    }
    let unit = std::fs::read_to_string(repo.join("deploy/baosong-import.service")).unwrap();
    assert!(!unit.contains("will replace this"), "{unit}");
    assert_eq!(unit_value(&unit, "ReadWritePaths"), ["/srv/baosong"]);
    assert_eq!(unit_value(&unit, "ProtectSystem"), ["strict"]);
    let exec = place(unit_value(&unit, "ExecStart").pop().unwrap().as_str());
    let argv: Vec<&str> = exec.split_whitespace().collect();
    let cwd = place(&unit_value(&unit, "WorkingDirectory").pop().unwrap());
    let mut cmd = std::process::Command::new(argv[0]);
    cmd.args(&argv[1..]).current_dir(&cwd).env_clear().env("PATH", "/usr/bin:/bin");
    for e in unit_value(&unit, "Environment") {
        let (k, v) = e.split_once('=').unwrap();
        cmd.env(k, place(v));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("导入完成：共 9 封邮件"), "{stdout}");
    // The data went to /srv/baosong/data, and nothing was written under /etc/baosong.
    let data = srv.join("data");
    assert!(data.join("baosong.db").is_file(), "no database in {}", data.display());
    assert!(data.join("tree/2024-03").is_dir(), "no tree in {}", data.display());
    let mut in_etc: Vec<String> = std::fs::read_dir(&etc).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    in_etc.sort();
    assert_eq!(in_etc, ["baosong.toml", "departments.toml", "imap-password"]);
    // The daemon's unit runs the same binary on the same config and data.
    let daemon = std::fs::read_to_string(repo.join("deploy/baosong.service")).unwrap();
    assert_eq!(unit_value(&daemon, "ExecStart"), ["/usr/local/bin/baosong --config /etc/baosong/baosong.toml run"]);
    assert_eq!(unit_value(&daemon, "ReadWritePaths"), ["/srv/baosong"]);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_baosong"))
        .args(["--config", etc.join("baosong.toml").to_str().unwrap(), "status", "--cycle", "2024-03", "--as-of", "2024-03-28"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("2024-03 月份报送情况"), "{}", String::from_utf8_lossy(&status.stdout));
}

#[test]
fn a_department_typo_lists_the_valid_names() {
    let app = App::new();
    app.set_roster(ROSTER);
    let r = app.run(&["extend", "图克派处所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    assert!(!r.ok);
    assert_eq!(r.stderr.trim(), "错误：名单中没有单位 \"图克派处所\"。可用的名称（也可写别名）：嘎鲁图派出所、图克派出所");
    let r = app.run(&["quarantine", "approve", "1", "--department", "图克派处所"]);
    assert_eq!(r.stderr.trim(), "错误：名单中没有单位 \"图克派处所\"。可用的名称（也可写别名）：嘎鲁图派出所、图克派出所");
}

#[test]
fn status_says_when_a_month_had_no_mail_at_all() {
    use crate::fixtures::{Mail, jpeg};
    let app = App::new();
    app.import_one("mar.eml", &Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("①党建.jpg", &jpeg(1)).build());
    // April: one letter without attachments, so mail came but no package.
    app.import_one("apr.eml", &Mail::new("gltpcs@163.com", "请问截止日期", "Tue, 09 Apr 2024 10:00:00 +0800").build());

    let may = app.ok(&["status", "--cycle", "2024-05", "--as-of", "2024-06-03"]);
    assert!(may.contains("\n2024-05 整月没有收到任何邮件（可能邮箱没有连上，或还没有单位报送）。\n"), "{may}");
    assert!(may.contains("\n已有报送的月份：2024-03（用 --cycle 查看，如 --cycle 2024-03）\n"), "{may}");
    // A month still running says 至今; without --cycle the hint stays coherent.
    let now = app.ok(&["status", "--as-of", "2024-05-02"]);
    assert!(now.contains("\n2024-05 至今没有收到任何邮件（可能邮箱没有连上，或还没有单位报送）。\n"), "{now}");
    assert!(now.contains("\n已有报送的月份：2024-03（用 --cycle 查看，如 --cycle 2024-03）\n") && !now.contains("本月还没有报送"), "{now}");
    // Mail but no package: no "no mail" line, the plain hint.
    let apr = app.ok(&["status", "--cycle", "2024-04", "--as-of", "2024-05-02"]);
    assert!(!apr.contains("没有收到任何邮件"), "{apr}");
    assert!(apr.contains("\n该月还没有报送。已有报送的月份：2024-03（用 --cycle 查看，如 --cycle 2024-03）\n"), "{apr}");
    let mar = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-28"]);
    assert!(!mar.contains("没有收到任何邮件") && !mar.contains("已有报送的月份"), "{mar}");

    assert_eq!(app.status("2024-05", "2024-06-03T00:00:00+08:00")["no_mail_received"], true);
    assert_eq!(app.status("2024-04", "2024-05-02T00:00:00+08:00")["no_mail_received"], false);
    assert_eq!(app.status("2024-03", "2024-03-28T00:00:00+08:00")["no_mail_received"], false);
    // As it stood before the March mail arrived.
    assert_eq!(app.status("2024-03", "2024-03-18T00:00:00+08:00")["no_mail_received"], true);
}

#[test]
fn a_bare_archive_or_photo_is_named_and_refused_and_an_oddly_named_mail_imports() {
    use crate::fixtures::{Mail, jpeg};
    let app = App::new();
    let zip = app.eml("3月素材.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest of a zip");
    let photo = app.eml("IMG_0001.jpg", &jpeg(7));
    let mail = app.eml("嘎鲁图3月.txt", &Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("①党建.jpg", &jpeg(1)).build());
    // A renamed archive in a folder is caught by its content too.
    let folder = app.data().parent().unwrap().join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("改名.eml"), b"Rar!\x1a\x07\x01\x00 rest of a rar").unwrap();
    let r = app.run(&["import", zip.to_str().unwrap(), photo.to_str().unwrap(), mail.to_str().unwrap(), folder.to_str().unwrap()]);
    assert!(!r.ok, "a path that is not mail fails the import:\n{}", r.stdout);
    assert!(r.stdout.contains("导入完成：共 1 封邮件\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  计入报送    1 封"), "{}", r.stdout);
    assert!(r.stdout.contains("  往来邮件    0 封"), "{}", r.stdout);
    let advice = "不是邮件文件（.eml），未导入。请在邮箱中把原邮件另存为 .eml 再导入；没有原邮件、只有这个文件的，请让报送单位用邮件重新报送（要从邮件判断是哪个单位、何时报送）";
    assert!(r.stdout.contains("跳过 3 个路径：\n"), "{}", r.stdout);
    for (path, what) in [(zip.display().to_string(), "ZIP 压缩包"), (photo.display().to_string(), "JPEG 图片"), (folder.join("改名.eml").display().to_string(), "RAR 压缩包")] {
        let line = format!("    {path} （这是 {what}，{advice}）\n");
        assert!(r.stdout.contains(&line), "missing {line}\n{}", r.stdout);
    }
    assert_eq!(app.row("2024-03", "2024-03-28T12:00:00+08:00", "嘎鲁图派出所")["photos"], 1);
}

#[test]
fn people_see_one_time_format_and_tools_get_rfc3339() {
    use crate::fixtures::{Mail, jpeg};
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:12:00 +0800").attach("①党建.jpg", &jpeg(1)).build());
    app.import_one("b.eml", &Mail::new("someone@qq.com", "无定河派出所3月素材", "Wed, 20 Mar 2024 09:05:00 +0800").attach("a.jpg", &jpeg(2)).build());
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-28T12:00:00+08:00"]);
    assert!(status.contains("截止：2024-03-26 00:00 前    统计时间：2024-03-28 12:00"), "{status}");
    let line = status.lines().find(|l| l.starts_with("嘎鲁图派出所")).unwrap();
    assert!(line.contains(" 2024-03-19 10:12 "), "{line}");
    assert!(status.contains("  [2] 2024-03-20 09:05  someone@qq.com  「无定河派出所3月素材」  疑似：无定河派出所\n"), "{status}");
    let held = app.ok(&["quarantine", "list"]);
    assert_eq!(
        held,
        "[2] 2024-03-20 09:05  发件人 someone@qq.com  主题「无定河派出所3月素材」  疑似单位：无定河派出所\n      原因：发件地址不在单位名单中，需确认是哪个单位所发\n"
    );
    let items = app.ok(&["items"]);
    assert!(items.lines().next().unwrap().contains("收到时间"), "{items}");
    assert!(items.lines().find(|l| l.contains("①党建.jpg")).unwrap().contains(" 2024-03-19 10:12 "), "{items}");
    // JSON: RFC 3339 with the offset.
    let board = app.status("2024-03", "2024-03-28T12:00:00+08:00");
    assert_eq!(board["as_of"], "2024-03-28T12:00:00+08:00");
    assert_eq!(board["review_queue"][0]["received_at"], "2024-03-20T09:05:00+08:00");
    let row = board["departments"].as_array().unwrap().iter().find(|d| d["department"] == "嘎鲁图派出所").unwrap();
    assert_eq!(row["first_received_at"], "2024-03-19T10:12:00+08:00");
    assert_eq!(app.items(&[])[0]["received_at"], "2024-03-19T10:12:00+08:00");
}

/// Issue 21: `import` of a folder with a subfolder it cannot read exited 1 and wrote no
/// reason to stderr. A non-zero exit always says why on stderr, in Chinese. (Root reads
/// any folder, so as root the import runs as nobody.)
#[test]
fn an_unreadable_subfolder_fails_the_import_and_stderr_says_why() {
    use std::os::unix::fs::PermissionsExt;
    let app = App::new();
    let folder = app.dir.path().join("导出");
    std::fs::create_dir_all(folder.join("锁住的")).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sample-mailbox/01-嘎鲁图派出所.eml"), folder.join("a.eml")).unwrap();
    std::fs::write(folder.join("锁住的/b.eml"), b"From: a@b.c\r\n\r\nx").unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_baosong"));
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        for p in [app.dir.path().to_path_buf(), folder.clone(), folder.join("a.eml"), app.config()] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(if p.is_dir() { 0o777 } else { 0o666 })).unwrap();
        }
        for f in ["departments.toml", "categories.toml"] {
            std::fs::set_permissions(app.dir.path().join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_baosong")]);
    }
    std::fs::set_permissions(folder.join("锁住的"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = c.arg("--config").arg(app.config()).arg("import").arg(&folder).env_remove("BAOSONG_CONFIG").output().unwrap();
    std::fs::set_permissions(folder.join("锁住的"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("  计入报送    1 封"), "the readable mail is imported:\n{stdout}\n{stderr}");
    assert!(stderr.contains("导入未全部完成") && stderr.contains("锁住的"), "stderr says why:\n{stderr}");
}
