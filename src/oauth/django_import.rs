//! `tessera users import FILE`: users from Django's `manage.py dumpdata auth.user`.
//!
//! Each user keeps its Django password hash until its first successful login, when argon2id
//! replaces it. The Django primary key becomes the Tessera user id, so `user_id` claims keep
//! meaning what they meant to the services that shared Django's database. Nothing is written
//! unless every record is valid, or `skip_invalid` is set.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::events::{self, Actor};
use super::passwords::is_supported_hash;
use crate::domain::{Email, Username};
use crate::store::users::{self, UserRow};
use crate::store::{self, DbConnection, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InvalidRecord {
    /// 1-based line where the record starts.
    pub line: usize,
    pub error: String,
}

#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub invalid: Vec<InvalidRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: not a dumpdata JSON array: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("{} invalid record(s); nothing was imported (use --skip-invalid to import the rest)", .0.len())]
    Invalid(Vec<InvalidRecord>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

#[derive(Deserialize)]
struct Record {
    model: String,
    pk: Option<serde_json::Value>,
    fields: Fields,
}

#[derive(Deserialize)]
struct Fields {
    username: String,
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default = "yes")]
    is_active: bool,
    #[serde(default)]
    is_staff: bool,
    #[serde(default)]
    is_superuser: bool,
}

fn yes() -> bool {
    true
}

/// Parses and validates `text`, then imports in one transaction.
pub fn import(
    conn: &mut DbConnection,
    text: &str,
    skip_invalid: bool,
) -> Result<ImportReport, ImportError> {
    let raw: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| ImportError::Malformed {
        line: e.line(),
        reason: e.to_string(),
    })?;
    let now = crate::domain::now();
    let mut rows = Vec::new();
    let mut invalid = Vec::new();
    let (mut seen_ids, mut seen_names) = (HashSet::new(), HashSet::new());
    for record in raw {
        let line = line_of(text, record);
        match parse(record, now) {
            Err(error) => invalid.push(InvalidRecord { line, error }),
            Ok(row) if !seen_names.insert(row.username.clone()) => invalid.push(InvalidRecord {
                line,
                error: format!("username {:?} appears twice in the file", row.username),
            }),
            Ok(row) if !seen_ids.insert(row.id.clone()) => invalid.push(InvalidRecord {
                line,
                error: format!("pk {} appears twice in the file", row.id),
            }),
            Ok(row) => rows.push((line, row)),
        }
    }

    store::write_transaction(conn, |conn| {
        let mut imported = 0;
        for (line, row) in &rows {
            if users::find_by_username(conn, &row.username)?.is_some()
                || users::find_by_id(conn, &row.id)?.is_some()
            {
                invalid.push(InvalidRecord {
                    line: *line,
                    error: format!("user {:?} (pk {}) exists already", row.username, row.id),
                });
                continue;
            }
            users::insert(conn, row)?;
            imported += 1;
        }
        invalid.sort_by_key(|r| r.line);
        if !invalid.is_empty() && !skip_invalid {
            // Rolls the transaction back: all or nothing.
            return Err(ImportError::Invalid(invalid.clone()));
        }
        events::record(
            conn,
            "users_imported",
            Some(&Actor::cli()),
            None,
            serde_json::json!({
                "imported": imported, "invalid": invalid.len(),
            }),
        )?;
        Ok(ImportReport {
            imported,
            invalid: std::mem::take(&mut invalid),
        })
    })
}

fn parse(raw: &RawValue, now: chrono::NaiveDateTime) -> Result<UserRow, String> {
    let record: Record =
        serde_json::from_str(raw.get()).map_err(|e| format!("not a user record: {e}"))?;
    if record.model != "auth.user" {
        return Err(format!("model is {:?}, not \"auth.user\"", record.model));
    }
    let f = record.fields;
    let username = Username::parse(&f.username).map_err(|e| format!("username: {e}"))?;
    let email = match f.email.as_str() {
        "" => None,
        raw => Some(
            Email::parse(raw)
                .map_err(|e| format!("email: {e}"))?
                .as_str()
                .to_owned(),
        ),
    };
    // "!…" is Django's unusable password: the user exists but cannot log in with one.
    if !f.password.starts_with('!') && !is_supported_hash(&f.password) {
        let algorithm = f.password.split('$').next().unwrap_or("");
        return Err(format!(
            "password: unsupported hash algorithm {algorithm:?} (pbkdf2_sha256 and argon2 are)"
        ));
    }
    let id = match record.pk {
        None | Some(serde_json::Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 64 => s,
        Some(other) => return Err(format!("pk {other} is not a number or a short string")),
    };
    Ok(UserRow {
        id,
        username: username.as_str().to_owned(),
        email,
        password_hash: f.password,
        is_admin: f.is_staff || f.is_superuser,
        disabled: !f.is_active,
        created_at: now,
        updated_at: now,
    })
}

/// The 1-based line on which `record` starts within `text` (it borrows from `text`).
fn line_of(text: &str, record: &RawValue) -> usize {
    let offset = (record.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_point_at_each_record() {
        let text = "[\n  {\"a\": 1},\n\n  {\"b\": 2}\n]";
        let raw: Vec<&RawValue> = serde_json::from_str(text).unwrap();
        let lines: Vec<usize> = raw.iter().map(|r| line_of(text, r)).collect();
        assert_eq!(lines, [2, 4]);
    }
}
