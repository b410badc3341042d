//! promoterd: a ticket-sale promoter program for event organizers, run where people
//! already are. The core (`commands`, `store`, `ingest`, `export`) imports no front-end crate.

pub mod backup;
pub mod chart;
pub mod chat_outbox;
pub mod checkout;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod commands;
pub mod commission_notice;
pub mod config;
pub mod console;
pub mod daemon;
pub mod delivery;
pub mod digest;
pub mod discord;
pub mod docs;
pub mod domain;
pub mod email;
pub mod error;
pub mod export;
pub mod housekeeping;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod memory;
pub mod metrics;
pub mod money;
pub mod outbox_claim;
pub mod qr;
pub mod reply;
pub mod store;
pub mod telegram;
pub mod text;
