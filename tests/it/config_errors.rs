//! Configuration errors as the office meets them: in Chinese, with the file, line and
//! column, the full key, what was found, what is expected and the fix. Each test
//! asserts the whole message.

use std::process::Command;

use crate::harness::App;

/// Writes `main` as baosong.toml, runs check-config, insists it failed and returns
/// stderr with the test folder written as `DIR`.
fn fails(app: &App, main: &str) -> String {
    std::fs::write(app.config(), main).unwrap();
    failing(app)
}

fn failing(app: &App) -> String {
    let r = app.run(&["check-config"]);
    assert!(!r.ok, "check-config passed:\n{}", r.stdout);
    r.stderr.replace(app.dir.path().to_str().unwrap(), "DIR")
}

/// The message, one line per element, as printed.
fn lines(l: &[&str]) -> String {
    let mut s = l.join("\n");
    s.push('\n');
    s
}

#[test]
fn an_unknown_key_names_its_table_and_suggests_the_closest_key() {
    let app = App::new();
    assert_eq!(
        fails(&app, "[intake]\ntimezone = \"Asia/Shanghai\"\ndeadlineday = 25\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 3 行第 1 列的 `intake.deadlineday`：[intake] 中没有 `deadlineday` 这一项",
            "  3 | deadlineday = 25",
            "    | ^^^^^^^^^^^",
            "  修改方法 (fix): 你是不是想写 `deadline_day`？请改正拼写。[intake] 中可写的键：timezone、deadline_day、departments_file、categories_file、sender_auth、dns_servers",
        ])
    );
    assert_eq!(
        fails(&app, "[intkae]\ndeadline_day = 25\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 1 行第 2 列的 `intkae`：没有 [intkae] 这个表，也没有 `intkae` 这一项",
            "  1 | [intkae]",
            "    |  ^^^^^^",
            "  修改方法 (fix): 你是不是想写 `intake`？请改正拼写。可写的表：[intake]、[storage]、[limits]、[imap]、[smtp]、[notify]、[inspect]、[scoring]、[web]、[links]",
        ])
    );
    // Nothing close: the valid keys are listed.
    assert_eq!(
        fails(&app, "[storage]\nfolder = \"data\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 1 列的 `storage.folder`：[storage] 中没有 `folder` 这一项",
            "  2 | folder = \"data\"",
            "    | ^^^^^^",
            "  修改方法 (fix): 检查拼写，或删去这一项。[storage] 中可写的键：data_dir、database_url、backend、s3",
        ])
    );
}

#[test]
fn a_wrong_type_says_what_was_found_and_what_is_expected() {
    let app = App::new();
    assert_eq!(
        fails(&app, "[intake]\ndeadline_day = \"25日\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 16 列的 `intake.deadline_day`：写的是 \"25日\"（字符串），应为 1 到 28 的整数",
            "  2 | deadline_day = \"25日\"",
            "    |                ^^^^^^",
            "  修改方法 (fix): 数字不加引号，也不带汉字或单位，例如 deadline_day = 25",
        ])
    );
    assert_eq!(
        fails(&app, "[notify]\noffice = \"1605739848@qq.com\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 10 列的 `notify.office`：写的是 \"1605739848@qq.com\"（字符串），应为邮箱地址的列表",
            "  2 | office = \"1605739848@qq.com\"",
            "    |          ^^^^^^^^^^^^^^^^^^^",
            "  修改方法 (fix): 即使只有一项，也写成方括号括起来的列表，例如 office = [\"1605739848@qq.com\"]",
        ])
    );
    assert_eq!(
        fails(&app, "[imap]\nprovider = \"qq\"\nuser = \"1605739848@qq.com\"\nbackfill_since = 2024-01-01\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 4 行第 18 列的 `imap.backfill_since`：写的是 2024-01-01（没加引号的日期），应为加引号的日期（字符串）",
            "  4 | backfill_since = 2024-01-01",
            "    |                  ^^^^^^^^^^",
            "  修改方法 (fix): 日期也要用英文双引号括起来，例如 backfill_since = \"2024-01-01\"",
        ])
    );
    // A value out of range, found after parsing, is placed too.
    assert_eq!(
        fails(&app, "[intake]\ndeadline_day = 40\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 16 列的 `intake.deadline_day`：40 不是有效的截止日",
            "  2 | deadline_day = 40",
            "    |                ^^",
            "  修改方法 (fix): 填 1 到 28 之间的整数，按细则为 25（25 日当天截止）",
        ])
    );
}

#[test]
fn toml_syntax_errors_give_the_line_and_column_with_a_caret() {
    let app = App::new();
    assert_eq!(
        fails(&app, "[intake]\ntimezone = Asia/Shanghai\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 12 列的 `intake.timezone`：格式错误：值 Asia/Shanghai 没有加引号",
            "  2 | timezone = Asia/Shanghai",
            "    |            ^^^^^^^^^^^^^",
            "  修改方法 (fix): 文字要用英文双引号括起来，例如 timezone = \"Asia/Shanghai\"；数字、true 和 false 不加引号",
        ])
    );
    assert_eq!(
        fails(&app, "[intake]\ndeadline_day：25\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 13 列的 `intake.deadline_day`：格式错误：用了中文标点“：”",
            "  2 | deadline_day：25",
            "    |             ^^",
            "  修改方法 (fix): 键和值之间用英文半角等号 =，例如 deadline_day = …",
        ])
    );
    assert_eq!(
        fails(&app, "[intake]\ndeadline_day = 25\n\n[intake]\ntimezone = \"Asia/Shanghai\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 4 行第 1 列：格式错误：表头 [intake] 出现了两次",
            "  4 | [intake]",
            "    | ^",
            "  修改方法 (fix): 同一个表头只能写一次：把两处 [intake] 下面的内容合并到一处",
        ])
    );
    // In the roster, a Chinese value without quotes is marked whole (two columns a character).
    app.set_roster("[[department]]\nname = 嘎鲁图派出所\nsenders = [\"gltpcs@163.com\"]\n");
    assert_eq!(
        fails(&app, "[storage]\ndata_dir = \"data\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 2 行第 8 列的 `department.name`：格式错误：值 嘎鲁图派出所 没有加引号",
            "  2 | name = 嘎鲁图派出所",
            "    |        ^^^^^^^^^^^^",
            "  修改方法 (fix): 文字要用英文双引号括起来，例如 name = \"嘎鲁图派出所\"；数字、true 和 false 不加引号",
        ])
    );
}

#[test]
fn missing_keys_are_named_with_the_department_counted_from_one() {
    let app = App::new();
    app.set_roster("[[department]]\nname = \"嘎鲁图派出所\"\nsenders = [\"gltpcs@163.com\"]\n\n[[department]]\nsenders = [\"tkpcs@qq.com\"]\n");
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 5 行第 1 列的 `department.name`：第 2 个 [[department]] 缺少必填的 `name`",
            "  5 | [[department]]",
            "    | ^^^^^^^^^^^^^^",
            "  修改方法 (fix): 在这个表里加一行，例如 name = \"嘎鲁图派出所\"",
        ])
    );
    // A key the program needs but which has no default: the table is pointed at.
    assert_eq!(
        fails(&app, "[imap]\nprovider = \"qq\"\n").lines().next().unwrap(),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 5 行第 1 列的 `department.name`：第 2 个 [[department]] 缺少必填的 `name`"
    );
    app.set_roster("[[department]]\nname = \"嘎鲁图派出所\"\nsenders = [\"gltpcs@163.com\"]\n");
    assert_eq!(
        fails(&app, "[imap]\nprovider = \"qq\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 1 行第 1 列的 `imap.user`：没有写邮箱账号",
            "  1 | [imap]",
            "    | ^^^^^^",
            "  修改方法 (fix): 写完整邮箱地址，例如 user = \"1605739848@qq.com\"",
        ])
    );
}

const TWO: &str = "[[department]]\nname = \"嘎鲁图派出所\"\naliases = [\"嘎所\"]\nsenders = [\"gltpcs@163.com\"]\n\n[[department]]\nname = \"图克派出所\"\nsenders = [\"tkpcs@qq.com\"]\n\n";

#[test]
fn duplicate_names_and_aliases_name_both_departments_counted_from_one() {
    let app = App::new();
    app.set_roster(&format!("{TWO}[[department]]\nname = \"嘎鲁图派出所\"\nsenders = [\"wsz@qq.com\"]\n"));
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 11 行第 8 列的 `department.name`：第 3 个单位与第 1 个单位重名：嘎鲁图派出所",
            "  11 | name = \"嘎鲁图派出所\"",
            "     |        ^^^^^^^^^^^^^^",
            "  修改方法 (fix): 每个单位只写一个 [[department]]：删去重复的一个；如果确是两个单位，请写各自的全称",
        ])
    );
    app.set_roster(&format!("{TWO}[[department]]\nname = \"乌审召派出所\"\naliases = [\"乌审召所\", \"嘎所\"]\nsenders = [\"wsz@qq.com\"]\n"));
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 12 行第 20 列的 `department.aliases`：第 3 个单位“乌审召派出所”的别名“嘎所”与第 1 个单位“嘎鲁图派出所”的别名“嘎所”重复",
            "  12 | aliases = [\"乌审召所\", \"嘎所\"]",
            "     |                        ^^^^^^",
            "  修改方法 (fix): 一个名称或别名只能属于一个单位：删去其中一个别名（匹配时“派出所”与“所”、“交警”与“交管”视为相同，“乌审旗”“公安局”会被去掉）",
        ])
    );
    // An alias that matches another department's name once 镇 and 派出所 are normalised.
    app.set_roster(&format!("{TWO}[[department]]\nname = \"乌审召派出所\"\naliases = [\"图克镇派出所\"]\nsenders = [\"wsz@qq.com\"]\n"));
    assert_eq!(
        failing(&app).lines().next().unwrap(),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 12 行第 12 列的 `department.aliases`：第 3 个单位“乌审召派出所”的别名“图克镇派出所”与第 2 个单位的名称“图克派出所”重复"
    );
    app.set_roster(&format!("{TWO}[[department]]\nname = \"乌审召派出所\"\nsenders = [\"TKPCS@qq.com\"]\n"));
    assert_eq!(
        failing(&app).lines().next().unwrap(),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 12 行第 12 列的 `department.senders`：第 3 个单位“乌审召派出所”的发件地址 tkpcs@qq.com 已属于第 2 个单位“图克派出所”"
    );
}

#[test]
fn invalid_addresses_are_refused_where_they_are_written() {
    let app = App::new();
    app.set_roster("[[department]]\nname = \"图克派出所\"\nsenders = [\"tkpcs@qq\"]\n");
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 3 行第 12 列的 `department.senders`：第 1 个单位“图克派出所”的发件地址 \"tkpcs@qq\" 不是有效的邮箱地址：@ 后面的域名不完整（缺少 .com 之类的后缀）",
            "  3 | senders = [\"tkpcs@qq\"]",
            "    |            ^^^^^^^^^^",
            "  修改方法 (fix): 写成完整地址，例如 \"tkpcs@qq.com\"",
        ])
    );
    app.set_roster("[[department]]\nname = \"图克派出所\"\nsenders = [\"tkpcs@qq.com\"]\ncontacts = [\"tkpcs@qq.com, zhang@163.com\"]\n");
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/departments.toml 第 4 行第 13 列的 `department.contacts`：第 1 个单位“图克派出所”的通知地址 \"tkpcs@qq.com, zhang@163.com\" 像是把几个地址写在了一起",
            "  4 | contacts = [\"tkpcs@qq.com, zhang@163.com\"]",
            "    |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
            "  修改方法 (fix): 每个地址单独加引号，用英文逗号分隔，例如 [\"a@qq.com\", \"b@163.com\"]",
        ])
    );
    app.set_roster("[[department]]\nname = \"图克派出所\"\nsenders = [\"12345@qq.com\"]\nescalation = [\"张所长 zhang163.com\"]\n");
    assert_eq!(
        failing(&app).lines().next().unwrap(),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 4 行第 15 列的 `department.escalation`：第 1 个单位“图克派出所”的抄送地址 \"张所长 zhang163.com\" 不是有效的邮箱地址：中间有空格"
    );
    // A QQ number is a fine address, with or without a name in front.
    app.set_roster("[[department]]\nname = \"图克派出所\"\nsenders = [\"12345@qq.com\"]\nescalation = [\"张所长 <12346@qq.com>\"]\n");
    assert!(app.run(&["check-config"]).ok);

    assert_eq!(
        fails(&app, "[notify]\noffice = [\"1605739848@qq.com\", \"bgs@163\"]\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 32 列的 `notify.office`：\"bgs@163\" 不是有效的邮箱地址：@ 后面的域名不完整（缺少 .com 之类的后缀）",
            "  2 | office = [\"1605739848@qq.com\", \"bgs@163\"]",
            "    |                                ^^^^^^^^^",
            "  修改方法 (fix): 写成完整地址，例如 \"bgs@163.com\"",
        ])
    );
    assert_eq!(
        fails(&app, "[smtp]\nprovider = \"qq\"\nuser = \"1605739848@qq.com\"\nfrom = \"办公室 <1605739848@qq>\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 4 行第 8 列的 `smtp.from`：\"1605739848@qq\" 不是有效的邮箱地址：@ 后面的域名不完整（缺少 .com 之类的后缀）",
            "  4 | from = \"办公室 <1605739848@qq>\"",
            "    |        ^^^^^^^^^^^^^^^^^^^^^^^^",
            "  修改方法 (fix): 写成 \"显示名 <地址>\"，例如 \"乌审旗公安局宣传工作领导小组办公室 <1605739848@qq.com>\"",
        ])
    );
}

#[test]
fn without_categories_file_the_built_in_categories_apply() {
    let app = App::new();
    std::fs::remove_file(app.dir.path().join("categories.toml")).unwrap();
    std::fs::write(app.config(), "[storage]\ndata_dir = \"data\"\n").unwrap();
    let out = app.ok(&["check-config"]);
    assert!(out.contains("类别：10 个"), "{out}");
    // Written but missing is an error, pointing at the key.
    assert_eq!(
        fails(&app, "[intake]\ncategories_file = \"categories.toml\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 19 列的 `intake.categories_file`：无法读取 DIR/categories.toml：文件不存在",
            "  2 | categories_file = \"categories.toml\"",
            "    |                   ^^^^^^^^^^^^^^^^^",
            "  修改方法 (fix): 相对路径从主配置文件所在的目录算起；检查文件名和权限，或写绝对路径",
        ])
    );
}

/// `data_dir = "./data"` is relative to the config file's folder, not to the
/// current directory, and every message shows the resolved absolute path.
#[test]
fn relative_paths_resolve_against_the_config_files_folder() {
    let app = App::new();
    let etc = app.dir.path().join("etc");
    let elsewhere = app.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&etc).unwrap();
    for f in ["departments.toml", "categories.toml"] {
        std::fs::copy(app.dir.path().join(f), etc.join(f)).unwrap();
    }
    std::fs::write(etc.join("baosong.toml"), "[storage]\ndata_dir = \"./data\"\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_baosong"))
            .current_dir(&elsewhere)
            .env_remove("BAOSONG_CONFIG")
            .args(["--config", "../etc/baosong.toml"])
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, out, err) = run(&["check-config"]);
    assert!(ok, "{err}");
    let data = etc.join("data");
    assert!(out.contains(&format!("数据目录：{}\n", data.display())), "{out}");
    assert!(out.contains(&format!("数据库：sqlite://{}\n", data.join("baosong.db").display())), "{out}");
    let (ok, _, err) = run(&["status", "--cycle", "2024-03"]);
    assert!(ok, "{err}");
    assert!(data.join("baosong.db").exists() && !elsewhere.join("data").exists());

    // An unusable data directory is named by its absolute path.
    std::fs::write(etc.join("baosong.toml"), "[storage]\ndata_dir = \"./blocked/data\"\n").unwrap();
    std::fs::write(etc.join("blocked"), "a file where a folder should be").unwrap();
    let (ok, _, err) = run(&["status", "--cycle", "2024-03"]);
    assert!(!ok);
    assert!(err.contains(&etc.join("blocked/data").display().to_string()), "{err}");
}

#[test]
fn a_console_address_that_is_not_ip_and_port_names_web_listen() {
    let app = App::new();
    assert_eq!(
        fails(&app, "[web]\nlisten = \"localhost:8080\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 10 列的 `web.listen`：无法识别的监听地址 \"localhost:8080\"",
            "  2 | listen = \"localhost:8080\"",
            "    |          ^^^^^^^^^^^^^^^^",
            "  修改方法 (fix): 写成 IP:端口，例如 \"127.0.0.1:8080\"（只本机可访问）或 \"0.0.0.0:8080\"（办公网可访问）",
        ])
    );
}

/// `[web] tls_cert`/`tls_key` are read when the console starts and by check-config:
/// a key that is not there, a key that does not match, files written the wrong way
/// round, each named with its key, its file and the fix, and `serve` does not start.
#[test]
fn a_missing_or_wrong_tls_key_names_web_tls_key_the_file_and_the_fix() {
    let app = App::new();
    let certs = &crate::dovecot::certs().dir;
    std::fs::create_dir_all(app.dir.path().join("tls")).unwrap();
    std::fs::copy(certs.join("cert.pem"), app.dir.path().join("tls/cert.pem")).unwrap();
    let main = "[web]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n";
    let missing = lines(&[
        "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 4 行第 11 列的 `web.tls_key`：无法读取私钥文件 DIR/tls/key.pem：文件不存在",
        "  4 | tls_key = \"tls/key.pem\"",
        "    |           ^^^^^^^^^^^^^",
        "  修改方法 (fix): 检查文件名和权限（运行 baosong 的系统用户要能读取）；相对路径从主配置文件所在的目录算起，也可写绝对路径",
    ]);
    assert_eq!(fails(&app, main), missing);
    // `serve` stops with the same words (not a panic), before it listens.
    let serve = app.run(&["serve"]);
    assert!(!serve.ok);
    assert!(serve.stderr.replace(app.dir.path().to_str().unwrap(), "DIR").ends_with(&missing), "{}", serve.stderr);
    // Other commands do not read the key: the service's key may be closed to the office's account.
    assert!(app.run(&["user", "list"]).ok);

    // The test CA's key is a key, but not this certificate's.
    std::fs::copy(certs.join("ca.key"), app.dir.path().join("tls/key.pem")).unwrap();
    assert_eq!(
        failing(&app),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 4 行第 11 列的 `web.tls_key`：私钥 DIR/tls/key.pem 与证书 DIR/tls/cert.pem 不配对",
            "  4 | tls_key = \"tls/key.pem\"",
            "    |           ^^^^^^^^^^^^^",
            "  修改方法 (fix): tls_key 写签发这张证书时生成的私钥；可用 openssl x509 -noout -pubkey -in 证书 与 openssl pkey -pubout -in 私钥 比较两者的公钥",
        ])
    );
    // The two written the wrong way round.
    std::fs::copy(certs.join("key.pem"), app.dir.path().join("tls/key.pem")).unwrap();
    assert_eq!(
        fails(&app, "[web]\ntls_cert = \"tls/key.pem\"\ntls_key = \"tls/cert.pem\"\n"),
        lines(&[
            "错误：配置错误 (config error): 文件 DIR/baosong.toml 第 2 行第 12 列的 `web.tls_cert`：DIR/tls/key.pem 中没有 PEM 格式的证书（-----BEGIN CERTIFICATE-----），这个文件是私钥",
            "  2 | tls_cert = \"tls/key.pem\"",
            "    |            ^^^^^^^^^^^^^",
            "  修改方法 (fix): tls_cert 和 tls_key 可能写反了：tls_cert 写证书文件，tls_key 写私钥文件",
        ])
    );
    // Right at last: check-config says the console's https is ready.
    std::fs::write(app.config(), main).unwrap();
    let ok = app.run(&["check-config"]);
    assert!(ok.stdout.contains("控制台：https://127.0.0.1:8443（监听 127.0.0.1:8443）"), "{}", ok.stdout);
    assert!(ok.stdout.contains("控制台 https：证书") && ok.stdout.contains("和私钥可以使用"), "{}", ok.stdout);
}
