//! Black-box tests of the gateway: the real application on a free port, on
//! SQLite and on PostgreSQL.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod doubles;
mod helpers;
mod mail;

mod acknowledgements;
mod browser;
mod cli;
mod contacts;
mod conversation;
mod durability;
mod email;
mod email_durability;
mod forms;
mod health;
mod meta;
mod outbox;
mod search;
mod security;
mod staff;
mod store_contract;
mod threading;
mod triage;
mod workspace;
