//! Integration tests: the real binary, a real SQLite database and real files on disk.

mod cli;
mod counted;
mod config_errors;
mod cycles;
mod dovecot;
mod departments;
mod encodings;
mod fixtures;
mod harness;
mod hostile;
mod hostile_archives;
mod hostile_images;
mod hostile_parsers;
mod tree_safety;
mod intake_failures;
mod intake_faults;
mod writer_lock;
mod imap;
mod ingest;
mod media;
mod notices;
mod operations;
mod sample;
mod scoring;
mod unpacking;
