-- Who really sent a message (issue 24): what checking its sender found when it was first analysed (PostgreSQL).
-- One row per message checked; mail recorded before this table, or taken in with the
-- checks off, has none. reprocess reads the row and never checks again (signing keys
-- rotate, so a later check could fail for honest mail). message_ref is always the
-- messages row's id, never generated, so it is a plain BIGINT key here.
CREATE TABLE sender_auth (
    message_ref  BIGINT  PRIMARY KEY
                 REFERENCES messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    -- the From address's domain, lower case
    from_domain  TEXT    NOT NULL DEFAULT '',
    -- every DKIM signature: a JSON array of {"domain","selector","result","reason"}
    dkim         TEXT    NOT NULL DEFAULT '[]',
    -- from mx.qq.com's Authentication-Results ('header'), or 'not_checked' ('computed')
    spf          TEXT    NOT NULL DEFAULT '',
    dmarc        TEXT    NOT NULL DEFAULT '',
    -- the From domain's published DMARC policy, '' when none was found
    policy       TEXT    NOT NULL DEFAULT '' CHECK (policy IN ('', 'none', 'quarantine', 'reject')),
    source       TEXT    NOT NULL CHECK (source IN ('header', 'computed')),
    -- under the mode below, when checked
    verdict      TEXT    NOT NULL CHECK (verdict IN ('pass', 'fail', 'none', 'temperror')),
    mode         TEXT    NOT NULL CHECK (mode IN ('dmarc', 'dkim')),
    -- whether the policy could hold it: IMAP, import --check-senders (not a plain import)
    enforced     BIGINT  NOT NULL DEFAULT 0 CHECK (enforced IN (0, 1)),
    -- how many times the DNS was asked
    tries        BIGINT  NOT NULL DEFAULT 1,
    checked_at   BIGINT  NOT NULL
);
