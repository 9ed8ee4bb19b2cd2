//! Published versions never change, so each one's snapshot is parsed once and shared, and so is the
//! questionnaire as each audience meets it: participants' pages read them on every request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::rules::Snapshot;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::studies::preview::rules::{preview, Audience, Preview};

/// Enough for every version in use at once; past it the cache starts again rather than grow.
const KEEP: usize = 64;

#[derive(Default)]
pub struct Snapshots {
    parsed: RwLock<HashMap<i64, Arc<Snapshot>>>,
    previews: RwLock<HashMap<(i64, Audience), Arc<Preview>>>,
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

    /// Version `version_id` (its `snapshot`) as `audience` meets it.
    pub fn preview(
        &self,
        version_id: i64,
        snapshot: &Snapshot,
        audience: Audience,
    ) -> Arc<Preview> {
        let key = (version_id, audience);
        if let Some(found) = self
            .previews
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let built = Arc::new(preview(snapshot, audience));
        let mut previews = self.previews.write().unwrap_or_else(|p| p.into_inner());
        if previews.len() >= KEEP {
            previews.clear();
        }
        previews.insert(key, built.clone());
        built
    }
}
