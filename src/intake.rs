//! Intake: workers analyse what the journal queued. Sources only make raw mail
//! durable and queue it (`journal`, with the IMAP cursor, in one transaction), so a
//! slow or failing message never holds the network task, and IMAP, `import` and a
//! restart after a crash all go through one path.

pub mod import; // offline import: queue what is found on disk, then drain
pub mod worker; // queued mail analysed by a pool, recorded in journal order, retried, failed
