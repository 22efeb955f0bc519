-- Admins disable (lock) and re-enable console accounts (issue 12) (PostgreSQL).
-- 0: the account may log in; otherwise when it was disabled (Unix seconds). A disabled
-- account keeps its name, role and audit history; its sessions are deleted when it is
-- disabled.
ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
