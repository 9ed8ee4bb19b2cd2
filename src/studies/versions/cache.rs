//! Published versions never change, so each one's snapshot is parsed once and shared: participants'
//! pages read it on every request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::rules::Snapshot;
use crate::db::DbConnection;
use crate::error::AppError;

/// Enough for every version in use at once; past it the cache starts again rather than grow.
const KEEP: usize = 64;

#[derive(Default)]
pub struct Snapshots {
    parsed: RwLock<HashMap<i64, Arc<Snapshot>>>,
}

impl Snapshots {
    pub fn get(&self, conn: &mut DbConnection, version_id: i64) -> Result<Arc<Snapshot>, AppError> {
        if let Some(found) = self
            .parsed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&version_id)
        {
            return Ok(found.clone());
        }
        let text = super::queries::version_snapshot(conn, version_id)?;
        let snapshot: Arc<Snapshot> =
            Arc::new(serde_json::from_str(&text).map_err(AppError::internal)?);
        let mut parsed = self.parsed.write().unwrap_or_else(|p| p.into_inner());
        if parsed.len() >= KEEP {
            parsed.clear();
        }
        parsed.insert(version_id, snapshot.clone());
        Ok(snapshot)
    }
}
