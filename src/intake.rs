//! The intake journal. Sources only make raw mail durable and queue it (with the IMAP
//! cursor, in one transaction); workers analyse what is queued. So a slow or failing
//! message never holds the network task, and IMAP, `import` and a restart after a
//! crash all go through one path.

pub mod import; // offline import: queue what is found on disk, then drain
pub mod journal; // raw mail made durable and queued, with the cursor
pub mod worker; // queued mail analysed by a pool, recorded in journal order, retried, failed
