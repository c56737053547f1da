//! Reading what the node's own signed history published at an entry: shared by the checks
//! of served documents (`served.rs`) and of a coordinator's membership list
//! (`federation/membership.rs`), below both.

use serde_json::Value;

use punte_store::Connection;

use crate::error::{NodeError, Result};

/// What entry `index` published: its activity id and the object of its activity (`Null`
/// when it carries none), or the reason its bytes were erased.
pub(crate) fn logged_object(
    conn: &Connection,
    index: u64,
) -> Result<std::result::Result<(String, Value), String>> {
    let entry = punte_store::log::entry(conn, index)?;
    let Some(bytes) = entry.activity else {
        return Ok(Err(entry.redaction_reason.unwrap_or_default()));
    };
    let mut activity: Value =
        serde_json::from_slice(&bytes).map_err(|source| NodeError::Decode {
            what: format!("the activity of log entry {index}"),
            source,
        })?;
    let object = activity
        .get_mut("object")
        .map(Value::take)
        .unwrap_or(Value::Null);
    Ok(Ok((entry.activity_id, object)))
}
