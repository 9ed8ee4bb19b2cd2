//! Reading an object's history and restoring an earlier version. A restore is an ordinary save of the
//! old content, through the same rules and version check as an edit, recorded as "restored".

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::queries::{self, Revision};
use super::rules::{self, Action, Field, FieldChange, ObjectType};
use crate::audit::Origin;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::questionnaires::actions::{self as edits, input_of, section_input_of, Saved};
use crate::studies::questionnaires::queries::{self as questionnaire_queries, Question, Section};
use crate::studies::questionnaires::rules::{QuestionInput, SectionInput};

/// The question or section whose history is wanted.
#[derive(Debug, Clone)]
pub enum Target {
    Question(Box<Question>),
    Section(Section),
}

impl Target {
    pub fn object(&self) -> ObjectType {
        match self {
            Target::Question(_) => ObjectType::Question,
            Target::Section(_) => ObjectType::Section,
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Target::Question(q) => q.id,
            Target::Section(s) => s.id,
        }
    }

    pub fn questionnaire_id(&self) -> i64 {
        match self {
            Target::Question(q) => q.questionnaire_id,
            Target::Section(s) => s.questionnaire_id,
        }
    }

    pub fn lock_version(&self) -> i32 {
        match self {
            Target::Question(q) => q.lock_version,
            Target::Section(s) => s.lock_version,
        }
    }

    /// How people recognise it: the question's text or the section's title.
    pub fn name(&self) -> &str {
        match self {
            Target::Question(q) => &q.text,
            Target::Section(s) => &s.title,
        }
    }
}

/// A revision as people and the API read it: who, when, why, both versions and what changed between them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionView {
    pub id: i64,
    /// "question" or "section".
    pub object_type: String,
    pub object_id: i64,
    /// created, duplicated, changed, restored or deleted.
    pub action: String,
    pub author_user_id: Option<i64>,
    pub author_name: Option<String>,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    /// Why it was changed; may be empty.
    pub reason: String,
    /// The content before this change (none when it was created).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The content after this change (none when it was deleted); this is what a restore puts back.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The fields that differ between `before` and `after`, word by word.
    pub changes: Vec<FieldChange>,
}

/// What a restore request carries: the version the person saw, and an optional note.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RestoreInput {
    /// The current version the restore starts from; a different current version means someone else saved first.
    pub lock_version: Option<i32>,
    /// Why we restored it (optional, up to 1,000 characters).
    pub reason: String,
}

const NOTHING_TO_RESTORE: &str =
    "This entry records a deletion: there is no content to restore from it.";

fn parse<T: DeserializeOwned>(text: Option<&str>) -> Option<T> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// Reads snapshots of one kind of object as readable fields (also for suggestions, which hold a snapshot).
pub struct Reader {
    object: ObjectType,
    tag_labels: HashMap<i64, String>,
}

impl Reader {
    pub fn new(conn: &mut DbConnection, object: ObjectType) -> Result<Self, AppError> {
        // Only questions carry tags; sections need no extra query.
        let tag_labels = match object {
            ObjectType::Question => questionnaire_queries::taxonomy(conn)?
                .into_iter()
                .map(|t| (t.id, t.label))
                .collect(),
            ObjectType::Section => HashMap::new(),
        };
        Ok(Reader { object, tag_labels })
    }

    pub fn fields(&self, snapshot: Option<&str>) -> Option<Vec<Field>> {
        match self.object {
            ObjectType::Question => parse::<QuestionInput>(snapshot)
                .map(|q| rules::question_fields(&q, &self.tag_labels)),
            ObjectType::Section => {
                parse::<SectionInput>(snapshot).map(|s| rules::section_fields(&s))
            }
        }
    }

    pub fn current(&self, target: &Target) -> Vec<Field> {
        match target {
            Target::Question(q) => rules::question_fields(&input_of(q), &self.tag_labels),
            Target::Section(s) => rules::section_fields(&section_input_of(s)),
        }
    }

    fn describe(&self, revision: Revision) -> RevisionView {
        let before = self.fields(revision.before.as_deref());
        let after = self.fields(revision.after.as_deref());
        RevisionView {
            changes: rules::changes(before.as_deref(), after.as_deref()),
            before: parse(revision.before.as_deref()),
            after: parse(revision.after.as_deref()),
            id: revision.id,
            object_type: revision.object_type,
            object_id: revision.object_id,
            action: revision.action,
            author_user_id: revision.author_user_id,
            author_name: revision.author_name,
            created_at: revision.created_at,
            reason: revision.reason,
        }
    }
}

/// The whole history, newest first, in two queries whatever its length.
pub async fn history(db: &Db, target: &Target) -> Result<Vec<RevisionView>, AppError> {
    let (object, id, questionnaire_id) = (target.object(), target.id(), target.questionnaire_id());
    db.read(move |conn| {
        let reader = Reader::new(conn, object)?;
        Ok(queries::list(conn, questionnaire_id, object, id)?
            .into_iter()
            .map(|r| reader.describe(r))
            .collect())
    })
    .await
}

/// One revision, and what restoring it would change in the current version.
pub async fn preview(
    db: &Db,
    target: &Target,
    revision_id: i64,
) -> Result<(RevisionView, Vec<FieldChange>), AppError> {
    let target = target.clone();
    db.read(move |conn| {
        let reader = Reader::new(conn, target.object())?;
        let revision = queries::find(
            conn,
            target.questionnaire_id(),
            target.object(),
            target.id(),
            revision_id,
        )?
        .ok_or(AppError::NotFound)?;
        let restored = reader.fields(revision.after.as_deref());
        let changes = rules::changes(Some(&reader.current(&target)), restored.as_deref());
        Ok((reader.describe(revision), changes))
    })
    .await
}

/// Puts a revision's content back as a new change. Refused like an edit when it breaks a rule (422) or
/// when someone saved since `lock_version` (the current version is returned, nothing is written).
pub async fn restore(
    db: &Db,
    origin: &Origin,
    target: &Target,
    revision_id: i64,
    request: &RestoreInput,
) -> Result<Saved<Target>, AppError> {
    let (object, id, questionnaire_id) = (target.object(), target.id(), target.questionnaire_id());
    let revision = db
        .read(move |conn| {
            queries::find(conn, questionnaire_id, object, id, revision_id).map_err(AppError::from)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let lock_version = request.lock_version.unwrap_or(target.lock_version());
    let reason = rules::restore_reason(&request.reason, revision.created_at);
    let nothing = || AppError::invalid("revision", NOTHING_TO_RESTORE);
    match target {
        Target::Question(question) => {
            let input = QuestionInput {
                lock_version: Some(lock_version),
                reason,
                ..parse(revision.after.as_deref()).ok_or_else(nothing)?
            };
            let saved =
                edits::save_question(db, origin, question, &input, Action::Restored).await?;
            Ok(match saved {
                Saved::Done => Saved::Done,
                Saved::Stale(current) => Saved::Stale(Target::Question(Box::new(current))),
            })
        }
        Target::Section(section) => {
            let input = SectionInput {
                reason,
                ..parse(revision.after.as_deref()).ok_or_else(nothing)?
            };
            let saved =
                edits::save_section(db, origin, section, lock_version, &input, Action::Restored)
                    .await?;
            Ok(match saved {
                Saved::Done => Saved::Done,
                Saved::Stale(current) => Saved::Stale(Target::Section(current)),
            })
        }
    }
}
