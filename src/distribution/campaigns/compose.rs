//! Composes campaign emails at send time, so the outbox never holds link secrets or identities.

use std::collections::HashMap;

use diesel::QueryResult;

use crate::db::DbConnection;
use crate::mail::outbox::{Composer, Composition, OutboxMessage};

pub struct CampaignComposer;

impl Composer for CampaignComposer {
    fn compose(
        &self,
        _conn: &mut DbConnection,
        messages: &[OutboxMessage],
    ) -> QueryResult<HashMap<i64, Composition>> {
        // Interim until campaign emails are composed: nothing is sent for them.
        Ok(messages
            .iter()
            .map(|m| {
                (
                    m.id,
                    Composition::Cancel("campaign emails are not composed yet".into()),
                )
            })
            .collect())
    }
}
