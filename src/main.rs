//! The baosong command line.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// 报送 baosong：接收各单位每月邮件报送的宣传照片和视频，分类归档、登记、出报表。
#[derive(Parser, Debug)]
#[command(name = "baosong", version, long_about = None, disable_help_flag = true, disable_version_flag = true, disable_help_subcommand = true)]
struct Cli {
    /// 显示帮助（也可写在子命令后）。例：baosong status --help
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help, global = true)]
    help: Option<bool>,
    /// 显示版本号。例：baosong --version
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    /// 配置文件（不写则用内置默认配置，数据存放在当前目录的 data/ 下）。例：--config /etc/baosong/baosong.toml
    #[arg(long, global = true, env = "BAOSONG_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// 导入邮件：.eml 文件、装 .eml 的文件夹、Maildir 文件夹或 mbox 文件
    Import {
        /// 要导入的文件或文件夹，可写多个。例：baosong import 导出/收件箱 旧邮件.mbox 一封.eml
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// 导入时也按 [intake] sender_auth 验证发件人：冒充单位地址的邮件扣留待审核（与从邮箱收取时相同）。
        /// 不加此项时只记录验证结果、不扣留（补录旧邮件时签名密钥可能已更换）。例：baosong import --check-senders 收件箱
        #[arg(long)]
        check_senders: bool,
    },
    /// 运行收件守护进程：持续读取 [imap] 配置的邮箱，新邮件到达即入库；同时提供网页控制台（[web] listen，默认 127.0.0.1:8080）。
    /// 使用 PostgreSQL 时可在多台机器上各运行一个：只有一个收件，其余待命，收件的实例停止后 30 秒内自动接手
    Run,
    /// 只做分析：处理共用的 PostgreSQL 库中排队的邮件，与 baosong run 分担（多台机器时使用，需能读到共用的数据目录）。例：baosong worker
    Worker,
    /// 只提供网页控制台，不收取邮件（[web] listen，默认 127.0.0.1:8080）。例：baosong serve
    Serve,
    /// 控制台账号：新建、列出
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// 读取一次邮箱后退出（配合 --once）；不带 --once 时按 poll_interval 定时读取
    Poll {
        /// 只读取一轮就退出。例：baosong poll --once
        #[arg(long)]
        once: bool,
        /// 只把邮件保存并排入分析队列，不分析（配合 --once；之后的 run、poll 或 import 会分析队列中的邮件）。
        /// 用于尽快取回积压邮件，或测量收取速度。例：baosong poll --once --queue-only
        #[arg(long, requires = "once")]
        queue_only: bool,
    },
    /// 显示某月各单位报送情况（按时/逾期/未报/待报）
    Status {
        /// 月份（默认：统计时间所在月份）。例：--cycle 2024-03
        #[arg(long, value_name = "YYYY-MM")]
        cycle: Option<String>,
        /// 统计时间，之后收到的邮件不计（默认：现在）。只写日期指当天结束（23:59:59，本地时间）。
        /// 例：--as-of 2024-03-28、--as-of "2024-03-28 12:00" 或 --as-of 2024-03-28T12:00:00+08:00
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// 输出 JSON（时间为 RFC 3339 格式），供其他程序读取。例：baosong status --json
        #[arg(long)]
        json: bool,
    },
    /// 列出已登记的文件
    Items {
        /// 只列出某个月份的文件。例：--cycle 2024-03
        #[arg(long, value_name = "YYYY-MM")]
        cycle: Option<String>,
        /// 单位名称或别名（写错时列出全部单位）。例：--department 嘎鲁图所
        #[arg(long, value_name = "NAME")]
        department: Option<String>,
        /// 类别编号 1–10，或 uncategorized。例：--category 3
        #[arg(long, value_name = "N")]
        category: Option<String>,
        /// 只列出带某个标记的文件，如 reused、shared_work、sent_on_behalf（写错时列出全部标记）。例：--flag reused
        #[arg(long, value_name = "CODE")]
        flag: Option<String>,
        /// 输出 JSON（时间为 RFC 3339 格式），供其他程序读取。例：baosong items --cycle 2024-03 --json
        #[arg(long)]
        json: bool,
    },
    /// 待审核邮件：名单外邮箱发来、但提到了某个单位的邮件
    Quarantine {
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// 把一封报送邮件改到另一个月份
    Reassign {
        /// 邮件编号（items 或 status 中显示的编号）。例：baosong reassign 17 --cycle 2024-04
        #[arg(value_name = "PACKAGE")]
        package: i64,
        /// 改到哪个月份。例：--cycle 2024-04
        #[arg(long, value_name = "YYYY-MM")]
        cycle: String,
    },
    /// 手工更改一个文件的类别
    Recategorize {
        /// 文件编号（items 中显示的编号）。例：baosong recategorize 120 3
        #[arg(value_name = "ITEM")]
        item: i64,
        /// 类别编号 1–10，或 0 表示未分类。例：3
        #[arg(value_name = "N")]
        category: u8,
    },
    /// 手工指定作品的作者（可一次指定多个文件；几人合作的作品写多个 --person，积分平分）。重新处理时保留
    Author {
        /// 文件编号（items 中显示的编号），可写多个。例：baosong author 120 121 --person 张三
        #[arg(required = true, value_name = "ITEM")]
        items: Vec<i64>,
        /// 作者：姓名、“姓名@单位”（两个单位有同名人员时）或警号。例：--person 张三 --person 150621
        #[arg(long = "person", required = true, value_name = "P")]
        people: Vec<String>,
    },
    /// 人员（departments.toml 各单位的 people）
    Person {
        #[command(subcommand)]
        action: PersonAction,
    },
    /// 浏览目录树（data/tree）的维护
    Tree {
        #[command(subcommand)]
        action: TreeAction,
    },
    /// 重新处理“处理失败”的邮件（磁盘或数据库问题解决之后）。例：baosong retry（全部）或 baosong retry 17 18
    Retry {
        /// 邮件编号（status 中“处理失败 [编号]”）；不写则重新处理全部处理失败的邮件。例：17 18
        #[arg(value_name = "ID")]
        ids: Vec<i64>,
    },
    /// 按现行规则重新处理已收的邮件（规则修正后用于以前的月份）。人工批准、改月份、改类别和延期都保留。
    /// 例：baosong reprocess --cycle 2024-04 --dry-run（先看会有哪些变化），再去掉 --dry-run 执行
    Reprocess {
        /// 只处理这个月份的邮件（计入该月的报送，以及该月收到的其他邮件）。例：--cycle 2024-04
        #[arg(long, value_name = "YYYY-MM", conflicts_with = "all")]
        cycle: Option<String>,
        /// 处理全部邮件。例：baosong reprocess --all
        #[arg(long)]
        all: bool,
        /// 只显示会有哪些变化，不改动任何数据（可在守护进程运行时使用）。例：--dry-run
        #[arg(long)]
        dry_run: bool,
    },
    /// 把单机版（SQLite）的全部数据复制到一个空的 PostgreSQL 库：逐表复制，在同一事务中提交（中断后目标库仍为空，可重新运行），完成后逐表核对行数和校验和。
    /// 复制期间请停止 baosong（本命令持有写入锁）。存档文件仍在 data_dir 中，不复制。
    MigrateDb {
        /// 目标库的地址（须为新建的空库）。例：--to postgres://baosong:密码@db.example:5432/baosong
        #[arg(long, value_name = "URL")]
        to: String,
        /// 只核对：不复制，逐表比较源库与已迁移的目标库的行数和校验和。例：--check
        #[arg(long)]
        check: bool,
        /// 同时把存档文件（原始邮件、照片视频、缩略图）复制到 [storage.s3] 写明的对象存储。例：--storage s3
        #[arg(long, value_name = "s3", value_parser = ["s3"])]
        storage: Option<String>,
    },
    /// 校验存档：重新计算每个存档文件和原始邮件的哈希，找出损坏或缺失的文件和被改动的目录树文件
    Verify {
        /// 修复：从原始邮件恢复损坏的存档文件，恢复目录树，把存档文件改为只读。例：baosong verify --repair
        #[arg(long)]
        repair: bool,
    },
    /// 检查照片或视频（不入库）：尺寸、拍摄时间、模糊度、相似度指纹和质量问题
    Inspect {
        /// 要检查的照片或视频，可写多个。例：baosong inspect 照片1.jpg 视频.mp4
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// 每个文件输出一行 JSON（时间为 RFC 3339 格式）。例：--json
        #[arg(long)]
        json: bool,
        /// 把 320 像素缩略图写到这个目录。例：--thumbs 缩略图
        #[arg(long, value_name = "DIR")]
        thumbs: Option<PathBuf>,
        /// 按哪个月份判断“拍摄时间较早”（默认本月）。例：--cycle 2024-03
        #[arg(long, value_name = "YYYY-MM")]
        cycle: Option<String>,
    },
    /// 生成某天的每日汇总：--print 只显示，--send 放入发件箱并发送
    Digest {
        /// 哪一天的汇总（默认今天）。例：--date 2024-03-20
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// 只显示汇总，不发送（不写 --send 时也是如此）。例：baosong digest --date 2024-03-20 --print
        #[arg(long, conflicts_with = "send")]
        print: bool,
        /// 放入发件箱并发给 notify.office（同一天只发一次）。例：baosong digest --send
        #[arg(long)]
        send: bool,
    },
    /// 催报提醒：--dry-run 显示此刻该发的提醒，--send 发送（每个提醒只发一次）
    Remind {
        /// 按此时间判断（默认现在）。只写日期指当天结束（23:59:59，本地时间）。
        /// 例：--as-of 2024-03-22、--as-of "2024-03-22 09:30" 或 --as-of 2024-03-22T09:30:00+08:00
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// 只显示该发的提醒，不发送（不写 --send 时也是如此）。例：baosong remind --dry-run
        #[arg(long, conflicts_with = "send")]
        dry_run: bool,
        /// 放入发件箱并发送（每个提醒只发一次）。例：baosong remind --send
        #[arg(long)]
        send: bool,
    },
    /// 发件箱：已发、待发和失败的通知
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// 给某单位某月延期：状态和提醒按新日期计算
    Extend {
        /// 单位名称或别名（写错时列出全部单位）。例：baosong extend 图克所 --cycle 2024-03 --until 2024-03-28
        department: String,
        /// 哪个月份的报送。例：--cycle 2024-03
        #[arg(long, value_name = "YYYY-MM")]
        cycle: String,
        /// 延至哪一天（含当天）。例：--until 2024-03-28
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: String,
    },
    /// 检查配置文件；配置了 [imap] 和 [smtp] 时还会登录收件和发信邮箱（不收取、不发送邮件）
    CheckConfig,
    /// 超大附件（QQ、163 以链接发来的大文件，多为视频）：列出每个链接及其状态；links fetch 立即下载到期的链接
    Links {
        #[command(subcommand)]
        action: Option<LinksAction>,
        /// 只列出某个月份的链接。例：baosong links --cycle 2024-03
        #[arg(long, value_name = "YYYY-MM")]
        cycle: Option<String>,
        /// 输出 JSON（时间为 RFC 3339 格式），供其他程序读取。例：baosong links --json
        #[arg(long)]
        json: bool,
    },
    /// 手工补交超大附件：链接下载不了或已过期时，把在浏览器中下载（或向单位要来）的文件交给 baosong，按原邮件的收到时间计入。例：baosong attach 120 巡逻视频.mp4
    Attach {
        /// 链接的文件编号（items 或 links 中显示的编号）。例：120
        #[arg(value_name = "ITEM")]
        item: i64,
        /// 下载好的文件。例：巡逻视频.mp4
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// 文件名或大小与邮件中写的不符时，确认就是这个链接的文件。例：--confirm
        #[arg(long)]
        confirm: bool,
    },
    /// 登记采用：报送的照片或视频被旗局、市局或公安厅采用（同一作品按最高级别计分一次）
    Adopt {
        /// 文件编号（items 中显示的编号），可写多个。例：baosong adopt 120 121 --level city --date 2024-04-12
        #[arg(required = true, value_name = "ITEM_ID")]
        items: Vec<i64>,
        /// 采用级别：banner（旗局，0.1 分）、city（市局，0.2 分）、province（公安厅，0.3 分）；也可写 旗局、市局、公安厅。例：--level city
        #[arg(long, value_name = "LEVEL")]
        level: String,
        /// 采用日期（默认今天），按此日期计入年度和月份。例：--date 2024-04-12
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// 采用的渠道或栏目。例：--channel "鄂尔多斯公安微信公众号"
        #[arg(long, value_name = "TEXT")]
        channel: Option<String>,
        /// 发布页面的链接。例：--url https://mp.weixin.qq.com/s/abc
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// 备注。例：--note "4月12日头条配图"
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// 撤销一条采用登记（编号见 score --explain 或 adopt 的输出）
    Unadopt {
        /// 采用编号。例：baosong unadopt 7
        #[arg(value_name = "ADOPTION_ID")]
        id: i64,
    },
    /// 考核得分：各单位各项的原始分、得分、满分和总分，按总分排名；add/list/remove 管理手工计分登记
    Score {
        #[command(subcommand)]
        action: Option<ScoreAction>,
        /// 考核年度（默认今年；须与考核细则的年度相同）。例：--year 2024
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// 只算某个月份的采用和登记。例：--month 2024-04
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// 某季度的得分：季末的年度累计得分减去季初的，年度封顶照常适用。例：--quarter 2024Q1
        #[arg(long, value_name = "YYYYQn", conflicts_with_all = ["month", "half", "year"])]
        quarter: Option<String>,
        /// 上半年（H1）或下半年（H2）的得分，算法同 --quarter。例：--half 2024H1
        #[arg(long, value_name = "YYYYHn", conflicts_with_all = ["month", "quarter", "year"])]
        half: Option<String>,
        /// 只显示某个单位（名称或别名），并列出各项得分。例：--department 嘎鲁图所
        #[arg(long, value_name = "NAME")]
        department: Option<String>,
        /// 输出 JSON，供其他程序读取。例：baosong score --year 2024 --json
        #[arg(long)]
        json: bool,
        /// 列出某单位得分背后的每一条采用和登记。例：--explain 嘎鲁图所
        #[arg(long, value_name = "NAME")]
        explain: Option<String>,
    },
    /// 通报：各单位某季度、半年或全年的报送、采用和得分排名，按公文格式（GB/T 9704）写成 Word 文档
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// 导出 Excel 表格（.xlsx，WPS 也能打开）
    Export {
        #[command(subcommand)]
        action: ExportAction,
    },
    /// 操作记录：登记采用、计分登记等手工操作的人、时间和改动
    Audit {
        /// 最多显示多少条（最新的在前）。例：--limit 200
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// 输出 JSON，供其他程序读取。例：baosong audit --json
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ScoreAction {
    /// 个人积分：每人被采用作品的得分（每件作品按全年最高级别计一次，几人合作平分，不封顶），
    /// 以及按积分排出的优秀宣传员候选（前五名）。例：baosong score people --year 2024
    People {
        /// 年度（默认今年；须与考核细则的年度相同）。例：--year 2024
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// 只算某个月份。例：--month 2024-04
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// 某季度的积分：季末的年度累计积分减去季初的。例：--quarter 2024Q1
        #[arg(long, value_name = "YYYYQn", conflicts_with_all = ["month", "half", "year"])]
        quarter: Option<String>,
        /// 上半年（H1）或下半年（H2）的积分，算法同 --quarter。例：--half 2024H1
        #[arg(long, value_name = "YYYYHn", conflicts_with_all = ["month", "quarter", "year"])]
        half: Option<String>,
        /// 只列某个单位的人员（名称或别名）。例：--department 嘎鲁图所
        #[arg(long, value_name = "NAME")]
        department: Option<String>,
        /// 输出 JSON。例：baosong score people --year 2024 --json
        #[arg(long)]
        json: bool,
        /// 同时保存为 Excel 表格（个人积分、得分作品、优秀宣传员候选三张表）。例：--xlsx 2024年个人积分.xlsx
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
    },
    /// 手工计分登记（不经邮箱的考核项：矩阵响应、创佳绩、政务新媒体、典型选树、公安文化、外宣刊稿等）
    Add {
        /// 单位名称或别名（写错时列出全部单位）。例：baosong score add 嘎鲁图所 --item 矩阵响应 --points -0.2 --date 2024-04-08 --note "转发任务未完成"
        #[arg(value_name = "DEPARTMENT")]
        department: String,
        /// 考核项目名称（写错时列出可登记的项目）。例：--item 矩阵响应
        #[arg(long, value_name = "ITEM")]
        item: String,
        /// 分值，扣分写负数；可用的分值由考核细则规定。例：--points -0.2
        #[arg(long, value_name = "POINTS", allow_negative_numbers = true)]
        points: String,
        /// 日期（默认今天），按此日期计入年度和月份。例：--date 2024-04-08
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// 引发负面舆情，按细则翻倍扣分（只用于有此规定的项目，如政务新媒体）。例：--negative-opinion
        #[arg(long)]
        negative_opinion: bool,
        /// 作品、稿件或荣誉的名称：同一作品在整个细则中只按最高分计一次；写 "#文件编号" 与该文件的采用视为同一作品。例：--work "短视频《守护》"
        #[arg(long, value_name = "TEXT")]
        work: Option<String>,
        /// 备注：是什么任务、通报或奖项。例：--note "4月8日转发任务未完成"
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// 列出手工计分登记
    List {
        /// 年度（默认今年）。例：--year 2024
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// 只列出某个单位（名称或别名）。例：--department 嘎鲁图所
        #[arg(long, value_name = "NAME")]
        department: Option<String>,
        /// 输出 JSON，供其他程序读取。例：baosong score list --json
        #[arg(long)]
        json: bool,
    },
    /// 删除一条手工计分登记
    Remove {
        /// 登记编号（score list 中方括号里的数字）。例：baosong score remove 12
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum ReportAction {
    /// 新闻宣传工作完成情况通报；不写 --docx 时在终端显示同样的内容。文字来自可修改的模板 tongbao.txt
    Tongbao {
        /// 季度。例：baosong report tongbao --quarter 2024Q1 --docx 2024年第一季度通报.docx
        #[arg(long, value_name = "YYYYQn", required_unless_present_any = ["half", "year"], conflicts_with_all = ["half", "year"])]
        quarter: Option<String>,
        /// 半年：H1 上半年，H2 下半年。例：--half 2024H1
        #[arg(long, value_name = "YYYYHn", conflicts_with = "year")]
        half: Option<String>,
        /// 全年（年终通报）。例：--year 2024
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// 保存为 Word 文档（.docx，WPS 也能打开）。例：--docx 2024年第一季度通报.docx
        #[arg(long, value_name = "FILE")]
        docx: Option<PathBuf>,
        /// 统计时间：之后收到的邮件不计，成文日期也取这一天（默认：现在）。例：--as-of 2024-04-05
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ExportAction {
    /// 月度报送情况通报表：各单位状态、逾期时长、各类别数量和标记
    Board {
        /// 月份。例：baosong export board --month 2024-04 --xlsx 4月报送情况.xlsx
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// 保存到哪个 .xlsx 文件。例：--xlsx 4月报送情况.xlsx
        #[arg(long, value_name = "FILE")]
        xlsx: PathBuf,
        /// 统计时间，之后收到的邮件不计（默认：现在）。例：--as-of 2024-04-30
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
    },
    /// 某月报送的全部文件，每个文件一行
    Items {
        /// 月份。例：baosong export items --month 2024-04 --xlsx 4月文件清单.xlsx
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// 保存到哪个 .xlsx 文件。例：--xlsx 4月文件清单.xlsx
        #[arg(long, value_name = "FILE")]
        xlsx: PathBuf,
    },
    /// 年度考核得分：总分表，以及每节一张表
    Scores {
        /// 考核年度（默认今年）。例：baosong export scores --year 2024 --xlsx 2024年宣传考核.xlsx
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        /// 保存到哪个 .xlsx 文件。例：--xlsx 2024年宣传考核.xlsx
        #[arg(long, value_name = "FILE")]
        xlsx: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum QuarantineAction {
    /// 列出待审核邮件（含扣留原因和发件人验证结果）
    List {
        /// 输出 JSON，供其他程序读取。例：baosong quarantine list --json
        #[arg(long)]
        json: bool,
    },
    /// 批准：按原收件时间计入指定单位
    Approve {
        /// 待审核邮件的编号（quarantine list 中方括号里的数字）。例：baosong quarantine approve 5 --department 图克所
        #[arg(value_name = "ID")]
        id: i64,
        /// 计入哪个单位：名称或别名（写错时列出全部单位）。例：--department 图克所
        #[arg(long, value_name = "NAME")]
        department: String,
        /// 记住这个发件地址，以后直接计入该单位。例：--remember-sender
        #[arg(long)]
        remember_sender: bool,
    },
    /// 驳回：不计入，保留记录
    Reject {
        /// 待审核邮件的编号（quarantine list 中方括号里的数字）。例：baosong quarantine reject 5
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum OutboxAction {
    /// 列出最近的通知及其状态
    List {
        /// 最多显示多少条。例：--limit 200
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// 输出 JSON，供其他程序读取。例：baosong outbox list --json
        #[arg(long)]
        json: bool,
    },
    /// 立即发送待发的通知
    Flush,
}

#[derive(Subcommand, Debug)]
enum PersonAction {
    /// 列出名单中的人员及其作品数。例：baosong person list --department 嘎鲁图派出所
    List {
        /// 只列这个单位的人员
        #[arg(long, value_name = "D")]
        department: Option<String>,
        /// 以 JSON 输出
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// 新建控制台账号；密码从终端输入（不回显），或从标准输入读一行。
    /// 例：baosong user add 张三 --role staff，或 echo '密码' | baosong user add 张三 --role viewer
    Add {
        /// 登录用的用户名。例：张三
        #[arg(value_name = "NAME")]
        name: String,
        /// 权限：viewer（只读）、staff（审核和更正）、admin（另可管理账号）。例：--role staff
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
    /// 列出控制台账号、权限和是否停用。例：baosong user list
    List,
    /// 更改账号的权限（不能把最后一个可用的管理员改掉）。例：baosong user role 张三 admin
    Role {
        /// 用户名。例：张三
        #[arg(value_name = "NAME")]
        name: String,
        /// 新权限：viewer（只读）、staff（审核和更正）、admin（另可管理账号）
        #[arg(value_name = "ROLE")]
        role: String,
    },
    /// 停用账号：不能再登录，已登录的立即退出（不能停用最后一个可用的管理员）。例：baosong user disable 张三
    Disable {
        /// 用户名。例：张三
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// 重新启用停用的账号。例：baosong user enable 张三
    Enable {
        /// 用户名。例：张三
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// 重置账号的密码（从终端输入两次，或从标准输入读一行）；该账号已登录的都要重新登录。
    /// 例：baosong user passwd 张三
    Passwd {
        /// 用户名。例：张三
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum LinksAction {
    /// 立即下载所有到期的超大附件（最多同时 2 个），下载完并登记后退出。例：baosong links fetch
    Fetch,
}

#[derive(Subcommand, Debug)]
enum TreeAction {
    /// 按数据库重建整个目录树
    Rebuild,
}

/// `BAOSONG_LOG` (or the default level), with the IMAP client's protocol log always
/// off: at trace level async-imap writes every command it sends, LOGIN with the 授权码
/// included. Nothing of ours logs a password at any level.
fn log_filter(default_level: &str) -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BAOSONG_LOG").unwrap_or_else(|_| default_level.into());
    match "async_imap=off".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    }
}

/// glibc's allocator, set for a daemon that is idle most of the month: a buffer of
/// 1 MiB or more (a fetched message, an attachment, a large decoded photo) is mapped on
/// its own and returned to the system when freed, instead of the threshold rising with
/// each large free until such buffers stay in the heap for good; and two arenas instead
/// of one per thread, so that freed memory is not spread where no trim reaches. Smaller
/// buffers (a photo decoded at reduced scale: 640 × 480 is 0.9 MiB) come from the heap,
/// which keeps up to 8 MiB free at its top while analysis runs instead of giving pages
/// back and faulting them in again for the next photo: mapping each of them on its own
/// (the threshold was 256 KiB) cost about a tenth of `poll --once`'s wall time. 4 MiB
/// and 64 MiB were no faster, and raised the peak of a 20 MiB mail's import past
/// 64 MiB. The workers hand the heap back with `malloc_trim` when the queue is empty
/// and again when idle (`intake::worker`).
fn frugal_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    // Printing into `| head` or `| more` that closes early ends quietly, as other tools do.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    frugal_allocator();
    let cli = Cli::parse();
    // The daemon reports what it does; one-off commands only warn.
    let default_level = if matches!(cli.command, Command::Run | Command::Serve | Command::Worker | Command::Poll { .. }) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(default_level))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Panics in analysis are caught and recorded as `processing_failed`; report them
    // through the log (with where they happened) rather than as bare stderr text.
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "程序内部错误")));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    // Run on a worker thread, next to the I/O driver, rather than on this thread:
    // every network wake-up would otherwise cross threads.
    let result = runtime.block_on(async { tokio::spawn(cli::run(cli)).await });
    // An analysis still running on a blocking thread (a huge photo, say) cannot be
    // interrupted; its message stays queued in the journal for the next start, so
    // exiting without waiting long for it loses nothing.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}
