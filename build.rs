//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the `migrations/`
//! folder at compile time, and cargo does not watch a folder's new files by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
