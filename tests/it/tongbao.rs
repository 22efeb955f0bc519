//! The 通报 (issue 23 point 5): `report tongbao` writes a .docx that LibreOffice opens
//! (converted headless to PDF, read back with pdftotext and pdfinfo), with every
//! department in rank order and the numbers of `score --quarter … --json`, on A4 with
//! GB/T 9704's margins; and quarters and halves counted across a yearly cap.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::fixtures::{Mail, jpeg};
use crate::harness::App;

/// Names Word documents use, mapped to the Noto CJK fonts the test machine has (小标宋,
/// a heavy face, to the bold serif).
const FONTS_CONF: &str = r#"<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>仿宋_GB2312</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <match target="pattern"><test name="family"><string>方正小标宋简体</string></test><edit name="family" mode="assign" binding="strong"><string>Noto Serif CJK SC</string></edit><edit name="weight" mode="assign" binding="strong"><const>heavy</const></edit></match>
  <alias binding="same"><family>楷体_GB2312</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
"#;

fn date(day: &str) -> String {
    format!("{day} 10:00:00 +0800")
}

/// The first quarter of 2024 and an April:
/// - 嘎鲁图派出所: January and February on time, March late (the 27th) with 70 photos;
///   2 adopted by the city bureau and 65 by the banner bureau in March (6.90 of the 7-point
///   cap), 3 more by the banner bureau in April (0.30, of which 0.10 is left under the cap);
/// - 图克派出所: January and March on time, February missing; one banner adoption in March;
/// - 看守所: nothing sent, 0.20 deducted under 矩阵响应 in February;
/// - everyone else: nothing.
fn first_quarter(app: &App) {
    let g = "gltpcs@163.com";
    app.import_one("g1.eml", &Mail::new(g, "嘎鲁图派出所1月素材", &date("Wed, 10 Jan 2024")).attach("①党建1.jpg", &jpeg(1)).attach("①党建2.jpg", &jpeg(2)).build());
    app.import_one("g2.eml", &Mail::new(g, "嘎鲁图派出所2月素材", &date("Sat, 10 Feb 2024")).attach("②执法.jpg", &jpeg(3)).build());
    let mut march = Mail::new(g, "嘎鲁图派出所3月素材", &date("Wed, 27 Mar 2024"));
    for n in 0..70 {
        march = march.attach(&format!("③安保{n:02}.jpg"), &jpeg(100 + n));
    }
    app.import_one("g3.eml", &march.build());
    let t = "tkpcs@qq.com";
    app.import_one("t1.eml", &Mail::new(t, "图克派出所1月素材", &date("Fri, 12 Jan 2024")).attach("④暖警.jpg", &jpeg(200)).build());
    app.import_one("t3.eml", &Mail::new(t, "图克派出所3月素材", &date("Tue, 05 Mar 2024")).attach("③巡逻.jpg", &jpeg(201)).build());

    let items = app.items(&[]);
    let id = |name: &str| items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no {name}"))["id"].as_i64().unwrap().to_string();
    let adopt = |names: Vec<String>, level: &str, on: &str| {
        let ids: Vec<String> = names.iter().map(|n| id(n)).collect();
        let mut args = vec!["adopt"];
        args.extend(ids.iter().map(String::as_str));
        args.extend(["--level", level, "--date", on]);
        app.ok(&args);
    };
    let anbao = |r: std::ops::Range<u32>| r.map(|n| format!("③安保{n:02}.jpg")).collect::<Vec<_>>();
    adopt(anbao(0..2), "city", "2024-03-28");
    adopt(anbao(2..67), "banner", "2024-03-28");
    adopt(anbao(67..70), "banner", "2024-04-10");
    adopt(vec!["③巡逻.jpg".into()], "banner", "2024-03-20");
    app.ok(&["score", "add", "看守所", "--item", "矩阵响应", "--points", "-0.2", "--date", "2024-02-01", "--note", "转发任务未完成"]);
}

fn scores(app: &App, args: &[&str]) -> Value {
    let mut a = vec!["score", "--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&app.ok(&a)).unwrap()
}

fn of<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["departments"].as_array().unwrap().iter().find(|d| d["department"] == name).unwrap_or_else(|| panic!("{name} not in {s}"))
}

/// (raw, points) of 图片视频报送.
fn photos_item(s: &Value, name: &str) -> (f64, f64) {
    let i = of(s, name)["items"].as_array().unwrap().iter().find(|i| i["item"] == "图片视频报送").unwrap();
    (i["raw"].as_f64().unwrap(), i["points"].as_f64().unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.001
}

/// A department at 6.90 by March earns only 0.10 of April's 0.30: the first half is
/// capped at 7, as the year is, and the quarters add up to it.
#[test]
fn quarters_and_halves_count_up_to_the_yearly_cap() {
    let app = App::new();
    first_quarter(&app);
    let q1 = scores(&app, &["--quarter", "2024Q1"]);
    let q2 = scores(&app, &["--quarter", "2024Q2"]);
    let h1 = scores(&app, &["--half", "2024H1"]);
    let year = scores(&app, &["--year", "2024"]);
    assert_eq!((q1["quarter"].as_str(), h1["half"].as_str()), (Some("2024Q1"), Some("2024H1")));
    let g = "嘎鲁图派出所";
    assert_eq!(photos_item(&q1, g), (6.9, 6.9));
    assert_eq!(photos_item(&q2, g).1, 0.1, "only 0.10 was left under the cap: {}", of(&q2, g));
    assert!(close(photos_item(&q2, g).0, 0.3));
    assert_eq!(photos_item(&h1, g), (7.2, 7.0));
    assert_eq!(photos_item(&year, g).1, 7.0);
    assert!(close(of(&q1, g)["total"].as_f64().unwrap() + of(&q2, g)["total"].as_f64().unwrap(), of(&h1, g)["total"].as_f64().unwrap()));
    // Q1 is the year-to-date at March's end: deductions start full, 看守所 lost 0.20.
    assert!(close(of(&q1, "看守所")["total"].as_f64().unwrap(), 5.8), "{}", of(&q1, "看守所"));
    assert_eq!(q1["departments"][0]["department"], g);
    // In Q2 nobody lost anything and 嘎鲁图 gained 0.10: it ranks first, the rest share 2nd.
    assert_eq!((q2["departments"][0]["department"].as_str(), q2["departments"][0]["total"].as_f64()), (Some(g), Some(0.1)));
    assert_eq!(q2["departments"][1]["rank"], 2);
    let text = app.ok(&["score", "--quarter", "2024Q2"]);
    assert!(text.starts_with("2024年第二季度考核得分") && text.contains("3 月底的") && text.contains("本期的扣分显示为负数"), "{text}");
    let bad = app.run(&["score", "--quarter", "2024Q5"]);
    assert!(!bad.ok && bad.stderr.contains("应写成 2024Q1"), "{}", bad.stderr);
    let both = app.run(&["score", "--quarter", "2024Q1", "--year", "2024"]);
    assert!(!both.ok, "a quarter and a year at once is refused");
}

/// Runs `program args` with the test's fontconfig and a LibreOffice profile of its own.
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("FONTCONFIG_FILE", dir.join("fonts.conf"))
        .env("HOME", dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not be started ({e}); tests/install-deps.sh installs it"));
    assert!(out.status.success(), "{program} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The .docx converted to PDF by LibreOffice, headless.
fn to_pdf(docx: &Path) -> PathBuf {
    let dir = docx.parent().unwrap();
    std::fs::write(dir.join("fonts.conf"), FONTS_CONF).unwrap();
    let profile = format!("-env:UserInstallation=file://{}", dir.join("lo-profile").display());
    let started = Instant::now();
    tool(dir, "soffice", &[&profile, "--headless", "--convert-to", "pdf", "--outdir", dir.to_str().unwrap(), docx.to_str().unwrap()]);
    eprintln!("LibreOffice converted {} in {:.1} s", docx.display(), started.elapsed().as_secs_f64());
    let pdf = docx.with_extension("pdf");
    assert!(pdf.is_file(), "no PDF from {}", docx.display());
    pdf
}

/// Words of page 1 as (xMin, yMin, xMax, yMax, text), from `pdftotext -bbox`.
fn words(dir: &Path, pdf: &Path) -> Vec<(f64, f64, f64, f64, String)> {
    let html = tool(dir, "pdftotext", &["-bbox", "-f", "1", "-l", "1", pdf.to_str().unwrap(), "-"]);
    html.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("<word ")?;
            let num = |k: &str| -> f64 {
                let at = l.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                l[at..].split('"').next().unwrap().parse().unwrap()
            };
            let text = l.split('>').nth(1)?.split('<').next()?.to_string();
            Some((num("xMin"), num("yMin"), num("xMax"), num("yMax"), text))
        })
        .collect()
}

fn mm(points: f64) -> f64 {
    points * 25.4 / 72.0
}

/// The 通报 of 2024Q1 as Word writes it and LibreOffice reads it: the title, the ranking
/// of all 20 departments with `score --quarter 2024Q1 --json`'s sections and totals,
/// the counts behind them, the late and missing departments by month, A4 and the
/// margins; the text without --docx says the same.
#[test]
fn tongbao_docx_opens_in_libreoffice_with_the_ranking_of_score_quarter() {
    let app = App::new();
    first_quarter(&app);
    let dir = app.dir.path().join("tongbao");
    std::fs::create_dir_all(&dir).unwrap();
    let docx = dir.join("2024年第一季度通报.docx");
    let said = app.ok(&["report", "tongbao", "--quarter", "2024Q1", "--as-of", "2024-04-05", "--docx", docx.to_str().unwrap()]);
    assert!(said.contains("已生成2024年第一季度通报（20 个单位）"), "{said}");

    // The document's own settings: A4, margins in twips, fonts for Chinese text.
    let xml = tool(&dir, "unzip", &["-p", docx.to_str().unwrap(), "word/document.xml"]);
    assert!(xml.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#), "A4");
    assert!(xml.contains(r#"<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587""#), "37/26/35/28 mm");
    for font in ["方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"] {
        assert!(xml.contains(&format!(r#"w:eastAsia="{font}""#)), "{font}");
    }

    let pdf = to_pdf(&docx);
    let info = tool(&dir, "pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(info.contains("(A4)"), "{info}");
    let text = tool(&dir, "pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains("关于2024年第一季度全局新闻宣传工作完成情况的通报"), "{text}");
    assert!(flat.contains("各单位应报送宣传素材60个月次，实际报送5个月次，其中按时报送4个月次、逾期报送1个月次，未报送55个月次"), "{text}");
    assert!(flat.contains("共报送照片75张、视频0个；作品被旗局采用66次、市局采用2次、公安厅采用0次"), "{text}");
    assert!(flat.contains("嘎鲁图派出所（3月）未在截止日前报送"), "{text}");
    assert!(flat.contains("图克派出所（2月）、"), "图克 missed February: {text}");
    assert!(flat.contains("宣传工作领导小组办公室2024年4月5日"), "{text}");

    // Every department in rank order, its row the numbers of score --quarter --json.
    let s = scores(&app, &["--quarter", "2024Q1"]);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|t| t.len() >= 17).collect();
    let departments = s["departments"].as_array().unwrap();
    assert_eq!(departments.len(), 20);
    let mut last_line = 0;
    for d in departments {
        let name = d["department"].as_str().unwrap();
        let at = rows.iter().position(|r| r[1] == name).unwrap_or_else(|| panic!("no table row for {name} in\n{text}"));
        assert!(at >= last_line, "{name} out of rank order in\n{text}");
        last_line = at;
        let r = &rows[at];
        assert_eq!(r[0], d["rank"].to_string(), "{name}: {r:?}");
        let sections: Vec<String> = d["sections"].as_array().unwrap().iter().map(|x| format!("{:.2}", x["points"].as_f64().unwrap())).collect();
        assert_eq!(r[11..16], sections.iter().map(String::as_str).collect::<Vec<_>>()[..], "{name}: {r:?}");
        assert_eq!(r[16], format!("{:.2}", d["total"].as_f64().unwrap()), "{name}: {r:?}");
    }
    let row = |name: &str| rows.iter().find(|r| r[1] == name).unwrap()[2..11].join(" ");
    // 报送月数 按时 逾期 未报 照片 视频 旗局 市局 厅
    assert_eq!(row("嘎鲁图派出所"), "3 2 1 0 73 0 65 2 0");
    assert_eq!(row("图克派出所"), "2 2 0 1 2 0 1 0 0");
    assert_eq!(row("看守所"), "0 0 0 3 0 0 0 0 0");

    // The first page as a picture, for the README (tests/fixtures/screenshots/tongbao.png).
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    tool(&dir, "pdftoppm", &["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", pdf.to_str().unwrap(), shots.join("tongbao").to_str().unwrap()]);

    // The margins as LibreOffice laid them out: the addressee line starts at the left
    // margin, justified lines end at the right one, the title at the top one, and no
    // body text runs into the bottom one (the page number sits below it).
    let w = words(&dir, &pdf);
    let (page_w, page_h) = (595.276, 841.89);
    let left = w.iter().map(|x| x.0).fold(f64::MAX, f64::min);
    // A line-end "，" may hang past the margin: LibreOffice hangs punctuation whatever
    // w:overflowPunct says (Word keeps it in), so the right edge is the widest word that
    // does not end in punctuation.
    let right = w.iter().filter(|x| !x.4.ends_with(['，', '、', '。', '；', '：', '）', '》'])).map(|x| x.2).fold(0.0, f64::max);
    let top = w.iter().map(|x| x.1).fold(f64::MAX, f64::min);
    let bottom = w.iter().filter(|x| !x.4.contains('—') && x.4.parse::<u32>().is_err()).map(|x| x.3).fold(0.0, f64::max);
    assert!((mm(left) - 28.0).abs() < 0.8, "left margin {:.1} mm", mm(left));
    assert!((mm(page_w - right) - 26.0).abs() < 1.0, "right margin {:.1} mm", mm(page_w - right));
    assert!(mm(top) >= 36.5 && mm(top) < 41.0, "top margin {:.1} mm", mm(top));
    assert!(mm(page_h - bottom) >= 34.5, "text runs into the bottom margin: {:.1} mm", mm(page_h - bottom));

    // Without --docx: the same content as text.
    let printed = app.ok(&["report", "tongbao", "--quarter", "2024Q1", "--as-of", "2024-04-05"]);
    let flat_printed: String = printed.split_whitespace().collect();
    assert!(flat_printed.contains("关于2024年第一季度全局新闻宣传工作完成情况的通报") && flat_printed.contains("嘎鲁图派出所（3月）未在截止日前报送"), "{printed}");
    let first = printed.lines().find(|l| l.contains("嘎鲁图派出所") && l.trim_start().starts_with('1')).unwrap_or_else(|| panic!("{printed}"));
    assert!(first.trim_end().ends_with("12.90"), "{first}");
}

/// The year-end 通报 and a half's: the same template, the year's numbers; a year the
/// rubric does not cover is refused as `score` refuses it.
#[test]
fn tongbao_of_a_half_and_of_the_year() {
    let app = App::new();
    first_quarter(&app);
    let half = app.ok(&["report", "tongbao", "--half", "2024H1", "--as-of", "2024-07-05"]);
    assert!(half.contains("关于2024年上半年全局新闻宣传工作完成情况的通报") && half.contains("截至2024年6月底"), "{half}");
    let g = half.lines().find(|l| l.contains("嘎鲁图派出所") && l.trim_start().starts_with('1')).unwrap();
    assert!(g.trim_end().ends_with("13.00"), "7 points capped plus the 6 of the deduction items: {g}");
    let year = app.ok(&["report", "tongbao", "--year", "2024", "--as-of", "2025-01-05"]);
    let s = scores(&app, &["--year", "2024"]);
    let first = &s["departments"][0];
    let line = year.lines().find(|l| l.contains(first["department"].as_str().unwrap()) && l.trim_start().starts_with('1')).unwrap();
    assert!(line.trim_end().ends_with(&format!("{:.2}", first["total"].as_f64().unwrap())), "{line}");
    let flat: String = year.split_whitespace().collect();
    assert!(flat.contains("关于2024年全局新闻宣传工作完成情况的通报") && flat.contains("应报送宣传素材240个月次，实际报送5个月次"), "{year}");
    let wrong = app.run(&["report", "tongbao", "--year", "2023"]);
    assert!(!wrong.ok && wrong.stderr.contains("不能计算 2023 年"), "{}", wrong.stderr);
    let none = app.run(&["report", "tongbao"]);
    assert!(!none.ok, "a period is required");
}

/// 下载通报（Word） on the console's scores page: a quarter chosen from the form, the
/// same document as `report tongbao --docx`, named in Chinese, never cached; a period
/// that is not one, or another year, is refused in words.
#[test]
fn console_downloads_the_tongbao_the_cli_writes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    let r = app.run_input(&["user", "add", "李四", "--role", "viewer"], "lisi-password-2\n");
    assert!(r.ok, "{}", r.stderr);
    first_quarter(&app);
    let _console = Stop(app.spawn(&["serve"]));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let started = Instant::now();
    while agent.get(&url("/healthz")).call().map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed().as_secs() < 30, "console did not start:\n{}", app.daemon_log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let get = |p: &str, cookie: &str| {
        let mut r = agent.get(&url(p)).header("Cookie", cookie).call().unwrap();
        let header = |k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_string());
        let (status, kind, disposition, cache) = (r.status().as_u16(), header("content-type"), header("content-disposition"), header("cache-control"));
        (status, kind, disposition, cache, r.body_mut().with_config().limit(16 << 20).read_to_vec().unwrap())
    };
    // Log in as a browser would: the login page's cookie and token, then the form.
    let mut page = agent.get(&url("/login")).call().unwrap();
    let login_cookie = page.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).find(|c| c.starts_with("baosong_login=")).unwrap();
    let html = page.body_mut().read_to_string().unwrap();
    let token = html[html.find("name=\"csrf\" value=\"").unwrap() + 19..].split('"').next().unwrap().to_string();
    let r = agent.post(&url("/login")).header("Cookie", &login_cookie).send_form([("name", "李四"), ("password", "lisi-password-2"), ("csrf", token.as_str())]).unwrap();
    assert_eq!(r.status(), 303);
    let session = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).find(|c| c.starts_with("baosong_session=")).unwrap();

    let scores = String::from_utf8(get("/scores?year=2024", &session).4).unwrap();
    assert!(scores.contains(r#"action="/export/tongbao.docx""#) && scores.contains("下载通报（Word）"), "{scores}");
    assert!(scores.contains(r#"<option value="2024Q1""#) && scores.contains("2024年第一季度") && scores.contains(r#"<option value="2024" selected>2024年</option>"#), "2024 is over: the year is chosen\n{scores}");
    let (status, kind, disposition, cache, body) = get("/export/tongbao.docx?period=2024Q1", &session);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(kind.as_deref(), Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
    let disposition = disposition.unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains(&percent_encoded("2024年第一季度通报.docx")), "{disposition}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let dir = app.dir.path().join("web");
    std::fs::create_dir_all(&dir).unwrap();
    let web = dir.join("web.docx");
    std::fs::write(&web, &body).unwrap();
    let cli = dir.join("cli.docx");
    app.ok(&["report", "tongbao", "--quarter", "2024Q1", "--docx", cli.to_str().unwrap()]);
    let xml = |f: &Path| tool(&dir, "unzip", &["-p", f.to_str().unwrap(), "word/document.xml"]);
    assert_eq!(xml(&web), xml(&cli), "the same document as report tongbao --docx");
    assert!(xml(&web).contains("嘎鲁图派出所"));

    let (status, _, _, _, body) = get("/export/tongbao.docx?period=2024Q9", &session);
    assert!(status == 400 && String::from_utf8_lossy(&body).contains("应写成 2024Q1"), "{status}");
    let (status, _, _, _, body) = get("/export/tongbao.docx?period=2023H1", &session);
    assert!(status == 400 && String::from_utf8_lossy(&body).contains("考核细则是 2024 年的"), "{status}");
}

/// Stops the console when the test ends, passed or failed.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percent_encoded(name: &str) -> String {
    name.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The office rewrites the 通报 in `templates_dir/tongbao.txt` and the document follows;
/// a template naming a value the 通报 does not have is a configuration error as soon as
/// the configuration is read.
#[test]
fn the_office_edits_the_tongbao_template() {
    let app = App::with_config("[notify]\ntemplates_dir = \"tpl\"\n");
    let tpl = app.dir.path().join("tpl");
    std::fs::create_dir_all(&tpl).unwrap();
    let mine = "# 乌审旗公安局{{ period }}宣传工作通报\n< 各派出所：\n本期共{{ departments }}个单位，照片{{ totals.photos }}张。\n## 一、排名\n[排名表]\n> 旗公安局政治工作办公室\n> {{ date }}\n";
    std::fs::write(tpl.join("tongbao.txt"), mine).unwrap();
    let text = app.ok(&["report", "tongbao", "--quarter", "2024Q2", "--as-of", "2024-07-05"]);
    assert!(text.contains("乌审旗公安局2024年第二季度宣传工作通报") && text.contains("本期共20个单位，照片0张。"), "{text}");
    assert!(text.contains("旗公安局政治工作办公室") && text.contains("2024年7月5日") && !text.contains("有关要求"), "{text}");
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with('1') && l.trim_end().ends_with("0.00")).count(), 20, "20 departments ranked, all first at 0.00 in Q2:\n{text}");
    std::fs::write(tpl.join("tongbao.txt"), "# {{ peroid }}通报\n").unwrap();
    // Checked when the configuration is read, by every command.
    for args in [&["status"][..], &["report", "tongbao", "--year", "2024"]] {
        let r = app.run(args);
        assert!(!r.ok && r.stderr.contains("tongbao.txt") && r.stderr.contains("peroid"), "{args:?}: {}", r.stderr);
    }
}
