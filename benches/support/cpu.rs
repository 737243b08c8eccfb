//! What the benches' CPU accounting reads (Linux): /proc, and which Postgres backends serve
//! the bench database. Each bench sums it up in its own terms.

use std::path::Path;

use diesel::{Connection, RunQueryDsl};

#[derive(diesel::QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// The pids of the Postgres backends connected to `database`, asked over a connection to
/// another database (`admin_url`) so the asking one is not among them.
pub fn backend_pids(admin_url: &str, database: &str) -> anyhow::Result<Vec<u32>> {
    let mut admin = diesel::PgConnection::establish(admin_url)?;
    let rows: Vec<BackendPid> =
        diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(database)
            .load(&mut admin)?;
    Ok(rows.into_iter().map(|r| r.pid as u32).collect())
}

/// User plus system clock ticks from a /proc `stat` file, a process's or a thread's.
pub fn stat_ticks(stat: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // Fields 14 and 15 (utime, stime); the command name before them may contain spaces and
    // parentheses, so count from the last ')', after which field 3 begins.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}
