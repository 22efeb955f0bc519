//! What a person meets at the command line: help, configuration errors, status text.

use crate::fixtures::{Mail, jpeg};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

#[test]
fn help_is_in_chinese_and_lists_the_commands() {
    let app = App::new();
    let out = app.ok(&["--help"]);
    for word in ["import", "status", "items", "quarantine", "reassign", "recategorize", "tree", "check-config", "导入邮件"] {
        assert!(out.contains(word), "{word} missing from --help:\n{out}");
    }
}

#[test]
fn config_errors_name_the_file_the_key_and_the_fix() {
    let app = App::with_config("");
    std::fs::write(app.config(), "[intake]\ndeadline_day = 40\n").unwrap();
    let r = app.run(&["status"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("baosong.toml") && r.stderr.contains("intake.deadline_day") && r.stderr.contains("1 到 28"), "{}", r.stderr);

    std::fs::write(app.config(), "[intake]\ndeadline_dya = 25\n").unwrap();
    let r = app.run(&["status"]);
    assert!(!r.ok && r.stderr.contains("deadline_dya") && r.stderr.contains("你是不是想写 `deadline_day`"), "{}", r.stderr);

    std::fs::write(app.config(), "[intake]\ntimezone = \"Beijing\"\n").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok && r.stderr.contains("intake.timezone") && r.stderr.contains("Asia/Shanghai"), "{}", r.stderr);

    std::fs::write(app.config(), "[intake]\ndepartments_file = \"missing.toml\"\n").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok && r.stderr.contains("intake.departments_file") && r.stderr.contains("missing.toml"), "{}", r.stderr);

    std::fs::write(app.dir.path().join("departments.toml"), "[[department]]\nname = \"甲所\"\nsenders = [\"a@b.c\"]\n[[department]]\nname = \"乙所\"\nsenders = [\"a@b.c\"]\n").unwrap();
    std::fs::write(app.config(), "").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok && r.stderr.contains("department.senders") && r.stderr.contains("第 2 个单位“乙所”") && r.stderr.contains("第 1 个单位“甲所”"), "{}", r.stderr);
}

#[test]
fn check_config_summarises_what_is_in_force() {
    let app = App::new();
    let out = app.ok(&["check-config"]);
    assert!(out.contains("单位：20 个") && out.contains("类别：10 个") && out.contains("每月 25 日"), "{out}");
}

#[test]
fn status_table_shows_states_in_chinese() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("①党建.jpg", &jpeg(1)).build());
    let out = app.ok(&["status", "--cycle", "2024-03", "--as-of", AS_OF]);
    let line = out.lines().find(|l| l.starts_with("嘎鲁图派出所")).unwrap();
    assert!(line.contains("按时") && line.contains("①1"), "{line}");
    let line = out.lines().find(|l| l.starts_with("图克派出所")).unwrap();
    assert!(line.contains("未报"), "{line}");
    assert!(out.contains("截止：2024-03-26 00:00"), "{out}");
    // Without --cycle it is the month of --as-of; an empty month points to the months with data.
    let empty = app.ok(&["status", "--as-of", "2024-05-02T00:00:00+08:00"]);
    assert!(empty.contains("2024-05 月份") && empty.contains("已有报送的月份：2024-03"), "{empty}");
    let bad = app.run(&["status", "--as-of", "yesterday"]);
    assert!(!bad.ok && bad.stderr.contains("时间 \"yesterday\" 格式不对") && bad.stderr.contains("2024-03-28T12:00:00+08:00"), "{}", bad.stderr);
}
