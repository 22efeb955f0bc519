//! baosong (报送): takes in the photo and video packages a county police bureau's
//! departments email to its publicity office, and keeps the office's books on them.
//!
//! The data flows one way: source → journal → (worker) parse → resolve → unpack →
//! inspect → store → record → report → notify. The modules below follow it, then the
//! console and scoring, the tools, and what they all share.

// A message's way, in the data's order.
pub mod app; // what a process opens first: config, store, database, the writer lock
pub mod source; // where raw mail comes from: files and IMAP
pub mod journal; // raw mail made durable and queued, with the IMAP cursor, in one transaction
pub mod intake; // workers analyse what the journal queued; offline import
pub mod daemon; // the IMAP intake loop: passes, IDLE, reconnects, shutdown
pub mod failover; // run on several machines: one reads the mailbox, the others stand by
pub mod parse; // mail-parser plus Chinese header repair
pub mod sender_auth; // who really sent it: DKIM verified, SPF/DMARC from mx.qq.com's header, the verdict under the policy
pub mod resolve; // pure: whose package it is, which month it names
pub mod attribution; // pure: who made a work, from the file name, EXIF or the sender
pub mod unpack; // attachments, archives, limits, safe names, 超大附件 links
pub mod inspect; // what a file is, by content; hashes
pub mod store; // blobs, raw mail and the browsable tree on disk; the archive in S3 with a local cache
pub mod pipeline; // one message through every stage, one transaction
pub mod links; // 超大附件: the files sent as QQ/163 links, downloaded or taken in by hand
pub mod report; // the board for a cycle (status, status --json); the 通报 of a quarter, half or year
pub mod notify; // receipts, the daily digest and reminders, rendered into the outbox
pub mod scheduler; // daily jobs, idempotent per date
pub mod outbox; // sends what the outbox holds, exactly once per key

// People's decisions, audited alike from the CLI and the console; the year's scores.
pub mod web; // the office console: board, gallery, review forms, audit, status; logins and roles
pub mod corrections; // manual corrections (approve, reject, reassign, recategorize, extend), audited alike from CLI and console
pub mod people; // the roster's people and the works credited to them
pub mod score; // the year's 考核细则, adoptions and ledger entries, every department's points

// Tools over what is stored.
pub mod reprocess; // the current rules over stored raw mail; what people decided stands
pub mod verify; // the store re-hashed, damaged blobs restored from raw mail; the tree linked
pub mod export; // .xlsx exports: the monthly board, a month's files, the year's scores; the 通报 as .docx

// What every stage shares: configuration, the rules, the database, small leaves.
pub mod templates; // the wording of every mail: defaults in config/templates, overridable
pub mod config; // raw TOML validated into Config; errors name file, key and fix
pub mod config_error; // ConfigError: file, key, problem and fix (a leaf the domains share)
pub mod address; // e-mail addresses as written in the config: a light check, the fix in Chinese
pub mod roster; // departments, aliases, senders; name normalisation
pub mod categories; // the ten work categories and how names map to them
pub mod cycle; // pure: a package's month, the deadline, on_time/late/missing/pending
pub mod rejection; // rejection codes and flags, with Chinese reasons
pub mod db; // sqlx pool, migrations and all SQL
pub mod lock; // one writer per data directory (flock on data/lock)
pub mod hash; // SHA-256 as hex, the name of every blob
pub mod utf7; // modified UTF-7, the encoding of IMAP folder names
