//! Integration tests: the daemon's parts against a real SQLite file, real processes and
//! real HTTP on loopback. One crate, one module per area.

mod backups;
mod bad_input;
mod batches;
mod catalogue;
mod charts;
mod checkout_connections;
mod cli;
mod commission_property;
mod commission_rules;
mod commissions;
mod digests;
mod discord;
mod discord_gateway;
mod docs;
mod email;
mod fake_discord;
mod fake_gateway;
mod fake_telegram;
mod http;
mod link_flood;
mod link_switch;
mod mail_parts;
mod names;
mod newcomer;
mod newcomer_cli;
mod outbox_scrub;
mod permissions;
mod privacy;
mod scenario;
mod security;
mod snapshots;
mod support;
mod telegram;
mod ticket_types;
mod tidy;
