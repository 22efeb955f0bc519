//! Problems in the input, as data: a stable snake_case code and a Chinese reason.
//! Rejections are recorded and shown, never retried. Flags are softer: the item
//! is kept, but somebody should look.

use std::fmt;

/// Why a file, an archive entry or a whole message was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    UnsupportedType,
    Executable,
    EmptyFile,
    UnsafePath,
    ZipBomb,
    TooLarge,
    TooManyEntries,
    NestingTooDeep,
    EncryptedArchive,
    CorruptArchive,
    BrokenBase64,
    TooManyParts,
    MimeTooDeep,
    Unparseable,
    UnsupportedArchive,
    UnsupportedMethod,
    ImageBomb,
    CorruptImage,
    CorruptVideo,
    ProcessingFailed,
}

impl Rejection {
    pub const ALL: [Rejection; 20] = [
        Rejection::UnsupportedType,
        Rejection::Executable,
        Rejection::EmptyFile,
        Rejection::UnsafePath,
        Rejection::ZipBomb,
        Rejection::TooLarge,
        Rejection::TooManyEntries,
        Rejection::NestingTooDeep,
        Rejection::EncryptedArchive,
        Rejection::CorruptArchive,
        Rejection::BrokenBase64,
        Rejection::TooManyParts,
        Rejection::MimeTooDeep,
        Rejection::Unparseable,
        Rejection::UnsupportedArchive,
        Rejection::UnsupportedMethod,
        Rejection::ImageBomb,
        Rejection::CorruptImage,
        Rejection::CorruptVideo,
        Rejection::ProcessingFailed,
    ];

    /// The stable code stored in the database and printed in `--json` output.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::UnsupportedType => "unsupported_type",
            Rejection::Executable => "executable",
            Rejection::EmptyFile => "empty_file",
            Rejection::UnsafePath => "unsafe_path",
            Rejection::ZipBomb => "zip_bomb",
            Rejection::TooLarge => "too_large",
            Rejection::TooManyEntries => "too_many_entries",
            Rejection::NestingTooDeep => "nesting_too_deep",
            Rejection::EncryptedArchive => "encrypted_archive",
            Rejection::CorruptArchive => "corrupt_archive",
            Rejection::BrokenBase64 => "broken_base64",
            Rejection::TooManyParts => "too_many_parts",
            Rejection::MimeTooDeep => "mime_too_deep",
            Rejection::Unparseable => "unparseable",
            Rejection::UnsupportedArchive => "unsupported_archive",
            Rejection::UnsupportedMethod => "unsupported_method",
            Rejection::ImageBomb => "image_bomb",
            Rejection::CorruptImage => "corrupt_image",
            Rejection::CorruptVideo => "corrupt_video",
            Rejection::ProcessingFailed => "processing_failed",
        }
    }

    /// The reason in plain Chinese, for receipts, the digest and the status table.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::UnsupportedType => "不支持的文件类型（只收照片、视频，文档仅存档）",
            Rejection::Executable => "可执行程序，已拒收",
            Rejection::EmptyFile => "文件为空（0 字节）",
            Rejection::UnsafePath => "压缩包内路径不安全（含 ../、绝对路径或盘符）",
            Rejection::ZipBomb => "压缩比异常，疑似压缩炸弹",
            Rejection::TooLarge => "解压后总大小超过上限",
            Rejection::TooManyEntries => "压缩包内文件数超过上限",
            Rejection::NestingTooDeep => "压缩包嵌套层数过多",
            Rejection::EncryptedArchive => "压缩包有密码，无法解压，请去掉密码后重发",
            Rejection::CorruptArchive => "压缩包损坏或不完整，请重新打包发送",
            Rejection::BrokenBase64 => "附件编码损坏（base64 无效），请重新发送",
            Rejection::TooManyParts => "邮件附件（部分）数量过多",
            Rejection::MimeTooDeep => "邮件结构嵌套过深",
            Rejection::Unparseable => "邮件无法解析",
            Rejection::UnsupportedArchive => "压缩方式不受支持，请用 ZIP（默认压缩）、7z 或 RAR 重新打包",
            Rejection::UnsupportedMethod => "压缩包内此文件的压缩方式不受支持，请用 ZIP 默认压缩或 7z 重新打包",
            Rejection::ImageBomb => "图片尺寸异常巨大，超过解码上限，已拒收",
            Rejection::CorruptImage => "照片无法显示",
            Rejection::CorruptVideo => "视频无法播放",
            Rejection::ProcessingFailed => "处理此文件时程序出错（已记录详情），请联系管理员",
        }
    }

    /// The reason followed by what was found, when there is more to say.
    pub fn explained(self, detail: &str) -> String {
        if detail.is_empty() { self.reason().to_string() } else { format!("{}：{detail}", self.reason()) }
    }

    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A soft problem on a kept item or message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Duplicate,
    NameMismatch,
    NameSanitized,
    ExternalLink,
    SentOnBehalf,
    UnknownCharset,
    LowResolution,
    Blurry,
    Recompressed,
    Screenshot,
    OldCapture,
    ShortVideo,
    NearDuplicate,
    Reused,
    SharedWork,
    MessageIdCollision,
    BadDate,
    /// The sender could not be checked (the DNS failed, after retries): counted, flagged.
    SenderUnverified,
    /// The sender's check failed where the domain asks nothing (`p=none`), or the mail
    /// was approved although its check failed: counted, flagged.
    SenderAuthFailed,
}

impl Flag {
    pub fn code(self) -> &'static str {
        match self {
            Flag::Duplicate => "duplicate",
            Flag::NameMismatch => "name_mismatch",
            Flag::NameSanitized => "name_sanitized",
            Flag::ExternalLink => "external_link",
            Flag::SentOnBehalf => "sent_on_behalf",
            Flag::UnknownCharset => "unknown_charset",
            Flag::LowResolution => "low_resolution",
            Flag::Blurry => "blurry",
            Flag::Recompressed => "recompressed",
            Flag::Screenshot => "screenshot",
            Flag::OldCapture => "old_capture",
            Flag::ShortVideo => "short_video",
            Flag::NearDuplicate => "near_duplicate",
            Flag::Reused => "reused",
            Flag::SharedWork => "shared_work",
            Flag::MessageIdCollision => "message_id_collision",
            Flag::BadDate => "bad_date",
            Flag::SenderUnverified => "sender_unverified",
            Flag::SenderAuthFailed => "sender_auth_failed",
        }
    }

    pub const ALL: [Flag; 19] = [
        Flag::Duplicate,
        Flag::NameMismatch,
        Flag::NameSanitized,
        Flag::ExternalLink,
        Flag::SentOnBehalf,
        Flag::UnknownCharset,
        Flag::LowResolution,
        Flag::Blurry,
        Flag::Recompressed,
        Flag::Screenshot,
        Flag::OldCapture,
        Flag::ShortVideo,
        Flag::NearDuplicate,
        Flag::Reused,
        Flag::SharedWork,
        Flag::MessageIdCollision,
        Flag::BadDate,
        Flag::SenderUnverified,
        Flag::SenderAuthFailed,
    ];

    pub fn from_code(code: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn reason(self) -> &'static str {
        match self {
            Flag::Duplicate => "重复文件，本月已报送过，只计一次",
            Flag::NameMismatch => "文件扩展名与实际内容不符",
            Flag::NameSanitized => "文件名含非法字符或过长，已改名保存",
            Flag::ExternalLink => "超大附件链接，需在到期前下载",
            Flag::SentOnBehalf => "由其他单位邮箱代发",
            Flag::UnknownCharset => "邮件使用了未知字符集，名称可能有误",
            Flag::LowResolution => "分辨率偏低（照片长边不足 1600 像素，视频低于 720p）",
            Flag::Blurry => "画面模糊",
            Flag::Recompressed => "疑似经微信等压缩过（请发送原图）",
            Flag::Screenshot => "疑似手机截图",
            Flag::OldCapture => "拍摄时间较早，可能不是本月素材",
            Flag::ShortVideo => "视频过短（不足 3 秒）",
            Flag::NearDuplicate => "与已报送的照片高度相似",
            Flag::Reused => "与以前月份报送过的照片或视频相同或高度相似",
            Flag::SharedWork => "与其他单位本月报送的作品相同或高度相似（如联合行动照片），只计入最先报送的单位",
            Flag::MessageIdCollision => "邮件编号（Message-ID）与另一封内容不同的邮件相同，已作为新邮件处理",
            Flag::BadDate => "邮件日期明显错误，已改用收信服务器时间或处理时间",
            Flag::SenderUnverified => "发件人未能验证（查询签名记录的 DNS 失败），已照常计入，请留意是否为本单位所发",
            Flag::SenderAuthFailed => "发件人验证未通过（没有有效签名或签名无效），请留意是否为本单位所发",
        }
    }

    /// A short Chinese label for tables and lists ("重复", "代发").
    pub fn label(self) -> &'static str {
        match self {
            Flag::Duplicate => "重复",
            Flag::NameMismatch => "扩展名不符",
            Flag::NameSanitized => "已改名",
            Flag::ExternalLink => "超大附件",
            Flag::SentOnBehalf => "代发",
            Flag::UnknownCharset => "字符集未知",
            Flag::LowResolution => "分辨率低",
            Flag::Blurry => "模糊",
            Flag::Recompressed => "经压缩",
            Flag::Screenshot => "截图",
            Flag::OldCapture => "拍摄较早",
            Flag::ShortVideo => "视频过短",
            Flag::NearDuplicate => "相似",
            Flag::Reused => "旧图",
            Flag::SharedWork => "共享",
            Flag::MessageIdCollision => "编号冲突",
            Flag::BadDate => "日期有误",
            Flag::SenderUnverified => "发件人未能验证",
            Flag::SenderAuthFailed => "发件人验证未通过",
        }
    }

    /// The flags in a stored comma list, in `Flag` order; unknown codes are skipped.
    pub fn parse_list(codes: &str) -> Vec<Flag> {
        let mut v: Vec<Flag> = codes.split(',').filter_map(Flag::from_code).collect();
        v.sort();
        v.dedup();
        v
    }

    /// A stored comma list of `flags`, sorted and without repeats.
    pub fn join(flags: &[Flag]) -> String {
        let mut v = flags.to_vec();
        v.sort();
        v.dedup();
        v.iter().map(|f| f.code()).collect::<Vec<_>>().join(",")
    }
}

/// Why a message is held for the office's review, when there is more to say than
/// "the sender is not on the roster" (which is held mail's default, stored as '').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeldReason {
    /// From a roster address, but the sender's check failed where its domain requires
    /// it (DMARC `p=quarantine`/`p=reject`, or `sender_auth = "dkim"`): perhaps forged.
    SenderAuthFailed,
}

impl HeldReason {
    pub const ALL: [HeldReason; 1] = [HeldReason::SenderAuthFailed];

    /// The code stored in `messages.reason_code` of held mail.
    pub fn code(self) -> &'static str {
        match self {
            HeldReason::SenderAuthFailed => "sender_auth_failed",
        }
    }

    pub fn from_code(code: &str) -> Option<HeldReason> {
        HeldReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the office reads in the review queue, the digest and `status`.
    pub fn reason(self) -> &'static str {
        match self {
            HeldReason::SenderAuthFailed => "发件人地址可能被冒充（发件人验证未通过），未计入；请核实确为该单位所发后再批准",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in Rejection::ALL {
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
            assert_eq!(Rejection::from_code(r.code()), Some(r));
            assert!(!r.reason().is_ascii(), "reason for {} must be Chinese", r.code());
        }
    }

    #[test]
    fn flags_round_trip_with_chinese_reasons_and_labels() {
        let mut seen = std::collections::HashSet::new();
        let mut labels = std::collections::HashSet::new();
        for f in Flag::ALL {
            assert!(seen.insert(f.code()), "duplicate code {}", f.code());
            assert!(labels.insert(f.label()), "duplicate label {}", f.label());
            assert_eq!(Flag::from_code(f.code()), Some(f));
            assert!(!f.reason().is_ascii() && !f.label().is_ascii(), "{} must read in Chinese", f.code());
        }
        assert_eq!(Flag::parse_list("reused,,bogus,duplicate,reused"), [Flag::Duplicate, Flag::Reused]);
        assert_eq!(Flag::join(&[Flag::BadDate, Flag::SentOnBehalf, Flag::BadDate]), "sent_on_behalf,bad_date");
    }

    #[test]
    fn held_reasons_round_trip_in_chinese() {
        for r in HeldReason::ALL {
            assert_eq!(HeldReason::from_code(r.code()), Some(r));
            assert!(!r.reason().is_ascii());
        }
        assert_eq!(HeldReason::from_code(""), None);
    }
}
