//! What questionnaire edits do, for pages and the JSON API alike: checked against the rules, saved in
//! one transaction with their audit event and their revision (the history that can be restored), and
//! refused (not overwritten) when someone else saved first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;

use super::history::queries::{self as history, Change};
use super::history::rules::{question_snapshot, snapshot, Action, ObjectType};
use super::queries::{self, Direction, Question, Questionnaire, Section, SectionTree};
use super::rules::{self, EarlierQuestion, QuestionContent, QuestionInput, SectionInput};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

/// The outcome of a save that names the version it started from.
pub enum Saved<T> {
    Done,
    /// Someone else saved first; this is what is stored now. Nothing was written.
    Stale(T),
}

fn invalid(errors: FieldErrors) -> AppError {
    AppError::Invalid(errors)
}

pub async fn create_questionnaire(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    title: &str,
    description: &str,
) -> Result<i64, AppError> {
    let (title, description, origin) = (
        title.trim().to_string(),
        description.trim().to_string(),
        origin.clone(),
    );
    db.write(move |conn| {
        let id = queries::insert_questionnaire(conn, study_id, &title, &description)?;
        audit::record(
            conn,
            &origin,
            "questionnaire_created",
            "questionnaire",
            Some(id),
            json!({ "study_id": study_id, "title": title }),
        )?;
        Ok(id)
    })
    .await
}

/// Questions in the order participants meet them: by section, then within the section.
fn reading_order(tree: &[SectionTree]) -> Vec<&Question> {
    tree.iter().flat_map(|s| s.questions.iter()).collect()
}

fn earlier_than(tree: &[SectionTree], stop: impl Fn(&Question) -> bool) -> Vec<EarlierQuestion> {
    reading_order(tree)
        .into_iter()
        .take_while(|q| !stop(q))
        .map(|q| EarlierQuestion {
            id: q.id,
            kind: q.kind,
            options: q.options.clone(),
        })
        .collect()
}

fn known_tags(conn: &mut DbConnection) -> Result<HashSet<i64>, AppError> {
    Ok(queries::taxonomy(conn)?.into_iter().map(|t| t.id).collect())
}

pub async fn add_section(
    db: &Db,
    origin: &Origin,
    questionnaire: &Questionnaire,
    input: &SectionInput,
) -> Result<i64, AppError> {
    let input = rules::check_section_input(input).map_err(invalid)?;
    let (questionnaire_id, origin) = (questionnaire.id, origin.clone());
    db.write(move |conn| {
        let id =
            queries::insert_section(conn, questionnaire_id, &input.title, &input.introduction)?;
        history::record(
            conn,
            &origin,
            Change {
                object: ObjectType::Section,
                object_id: id,
                questionnaire_id,
                action: Action::Created,
                reason: &input.reason,
                before: None,
                after: Some(snapshot(&input)),
            },
        )?;
        audit::record(
            conn,
            &origin,
            "section_added",
            "section",
            Some(id),
            json!({ "questionnaire_id": questionnaire_id, "title": input.title }),
        )?;
        Ok(id)
    })
    .await
}

pub async fn update_section(
    db: &Db,
    origin: &Origin,
    section: &Section,
    lock_version: i32,
    input: &SectionInput,
) -> Result<Saved<Section>, AppError> {
    save_section(db, origin, section, lock_version, input, Action::Changed).await
}

/// Saves a section's new content (an edit, or an earlier version restored) with its revision.
pub async fn save_section(
    db: &Db,
    origin: &Origin,
    section: &Section,
    lock_version: i32,
    input: &SectionInput,
    action: Action,
) -> Result<Saved<Section>, AppError> {
    let (section, input, origin) = (section.clone(), input.clone(), origin.clone());
    db.write(move |conn| save_section_in(conn, &origin, &section, lock_version, &input, action))
        .await
}

/// `save_section` inside a transaction the caller holds, so a change that also records something else
/// (an accepted suggestion) is one transaction with the same checks and revision as any edit.
pub fn save_section_in(
    conn: &mut DbConnection,
    origin: &Origin,
    section: &Section,
    lock_version: i32,
    input: &SectionInput,
    action: Action,
) -> Result<Saved<Section>, AppError> {
    let input = rules::check_section_input(input).map_err(invalid)?;
    let current = current_section(conn, section)?;
    if !queries::update_section(
        conn,
        section.id,
        lock_version,
        &input.title,
        &input.introduction,
    )? {
        // Read again: whoever saved first may have committed after `current` was read.
        return Ok(Saved::Stale(current_section(conn, section)?));
    }
    let before = section_input_of(&current);
    history::record(
        conn,
        origin,
        Change {
            object: ObjectType::Section,
            object_id: section.id,
            questionnaire_id: section.questionnaire_id,
            action,
            reason: &input.reason,
            before: Some(snapshot(&before)),
            after: Some(snapshot(&input)),
        },
    )?;
    audit::record(
        conn,
        origin,
        if action == Action::Restored {
            "section_restored"
        } else {
            "section_changed"
        },
        "section",
        Some(section.id),
        json!({ "before": { "title": before.title, "introduction": before.introduction },
                "after": { "title": input.title, "introduction": input.introduction } }),
    )?;
    Ok(Saved::Done)
}

/// A stored section as the input that would store it again.
pub fn section_input_of(section: &Section) -> SectionInput {
    SectionInput {
        title: section.title.clone(),
        introduction: section.introduction.clone(),
        reason: String::new(),
    }
}

fn current_section(conn: &mut DbConnection, section: &Section) -> Result<Section, AppError> {
    queries::tree(conn, section.questionnaire_id)?
        .into_iter()
        .map(|s| s.section)
        .find(|s| s.id == section.id)
        .ok_or(AppError::NotFound)
}

pub async fn delete_section(db: &Db, origin: &Origin, section: &Section) -> Result<(), AppError> {
    let (section, origin) = (section.clone(), origin.clone());
    db.write(move |conn| {
        let tree = queries::tree(conn, section.questionnaire_id)?;
        let questions: Vec<&Question> = tree
            .iter()
            .filter(|s| s.section.id == section.id)
            .flat_map(|s| s.questions.iter())
            .collect();
        let gone: HashSet<i64> = questions.iter().map(|q| q.id).collect();
        queries::delete_section(conn, section.id)?;
        for question in questions {
            record_deleted_question(conn, &origin, question)?;
        }
        record_dropped_conditions(conn, &origin, &tree, &gone)?;
        history::record(
            conn,
            &origin,
            Change {
                object: ObjectType::Section,
                object_id: section.id,
                questionnaire_id: section.questionnaire_id,
                action: Action::Deleted,
                reason: "",
                before: Some(snapshot(&section_input_of(&section))),
                after: None,
            },
        )?;
        audit::record(
            conn,
            &origin,
            "section_deleted",
            "section",
            Some(section.id),
            json!({ "title": section.title }),
        )?;
        Ok(())
    })
    .await
}

fn record_deleted_question(
    conn: &mut DbConnection,
    origin: &Origin,
    question: &Question,
) -> Result<(), AppError> {
    history::record(
        conn,
        origin,
        Change {
            object: ObjectType::Question,
            object_id: question.id,
            questionnaire_id: question.questionnaire_id,
            action: Action::Deleted,
            reason: "",
            before: Some(snapshot(&input_of(question))),
            after: None,
        },
    )?;
    Ok(())
}

const CONDITION_DROPPED: &str =
    "The question this one depended on was deleted, so it is now always shown.";

/// Deleting a question removes the conditions that pointed at it: that is a change to each dependant,
/// and their history says so.
fn record_dropped_conditions(
    conn: &mut DbConnection,
    origin: &Origin,
    tree: &[SectionTree],
    gone: &HashSet<i64>,
) -> Result<(), AppError> {
    let dependants = reading_order(tree).into_iter().filter(|q| {
        !gone.contains(&q.id) && q.show_if_question_id.is_some_and(|t| gone.contains(&t))
    });
    for question in dependants {
        let before = input_of(question);
        let after = QuestionInput {
            show_if_question_id: None,
            show_if_answers: Vec::new(),
            ..before.clone()
        };
        history::record(
            conn,
            origin,
            Change {
                object: ObjectType::Question,
                object_id: question.id,
                questionnaire_id: question.questionnaire_id,
                action: Action::Changed,
                reason: CONDITION_DROPPED,
                before: Some(snapshot(&before)),
                after: Some(snapshot(&after)),
            },
        )?;
    }
    Ok(())
}

const MOVE_BREAKS_CONDITION: &str =
    "This move would put a question above the question its condition depends on. Change or remove the condition first.";

pub async fn move_section(
    db: &Db,
    origin: &Origin,
    section: &Section,
    direction: Direction,
) -> Result<(), AppError> {
    let (section, origin) = (section.clone(), origin.clone());
    db.write(move |conn| {
        if !queries::move_section(conn, section.questionnaire_id, section.id, direction)? {
            return Ok(());
        }
        check_conditions(conn, section.questionnaire_id)?;
        audit::record(
            conn,
            &origin,
            "section_moved",
            "section",
            Some(section.id),
            json!({ "direction": direction_name(direction) }),
        )?;
        Ok(())
    })
    .await
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// Refuses (and so rolls back) a reordering that leaves a condition pointing forward.
fn check_conditions(conn: &mut DbConnection, questionnaire_id: i64) -> Result<(), AppError> {
    let tree = queries::tree(conn, questionnaire_id)?;
    let order: Vec<(i64, Option<i64>)> = reading_order(&tree)
        .iter()
        .map(|q| (q.id, q.show_if_question_id))
        .collect();
    if rules::conditions_point_back(&order) {
        Ok(())
    } else {
        Err(AppError::invalid("position", MOVE_BREAKS_CONDITION))
    }
}

pub async fn add_question(
    db: &Db,
    origin: &Origin,
    section: &Section,
    input: &QuestionInput,
) -> Result<i64, AppError> {
    let (section, input, origin) = (section.clone(), input.clone(), origin.clone());
    db.write(move |conn| {
        let tree = queries::tree(conn, section.questionnaire_id)?;
        let this_section_at = tree
            .iter()
            .position(|s| s.section.id == section.id)
            .ok_or(AppError::NotFound)?;
        // A new question goes at the end of its section: everything in this and earlier sections is before it.
        let earlier: Vec<EarlierQuestion> = tree[..=this_section_at]
            .iter()
            .flat_map(|s| s.questions.iter())
            .map(|q| EarlierQuestion {
                id: q.id,
                kind: q.kind,
                options: q.options.clone(),
            })
            .collect();
        let content =
            rules::check_question(&input, &earlier, &known_tags(conn)?).map_err(invalid)?;
        let id =
            queries::insert_question(conn, section.questionnaire_id, section.id, &content, None)?;
        history::record(
            conn,
            &origin,
            Change {
                object: ObjectType::Question,
                object_id: id,
                questionnaire_id: section.questionnaire_id,
                action: Action::Created,
                reason: &content.input.reason,
                before: None,
                after: Some(question_snapshot(&content)),
            },
        )?;
        audit::record(
            conn,
            &origin,
            "question_added",
            "question",
            Some(id),
            json!({ "section_id": section.id, "text": content.input.text }),
        )?;
        Ok(id)
    })
    .await
}

pub async fn update_question(
    db: &Db,
    origin: &Origin,
    question: &Question,
    input: &QuestionInput,
) -> Result<Saved<Question>, AppError> {
    save_question(db, origin, question, input, Action::Changed).await
}

/// Saves a question's new content (an edit, or an earlier version restored) with its revision.
pub async fn save_question(
    db: &Db,
    origin: &Origin,
    question: &Question,
    input: &QuestionInput,
    action: Action,
) -> Result<Saved<Question>, AppError> {
    let (question, input, origin) = (question.clone(), input.clone(), origin.clone());
    db.write(move |conn| save_question_in(conn, &origin, &question, &input, action))
        .await
}

/// `save_question` inside a transaction the caller holds, so a change that also records something else
/// (an accepted suggestion) is one transaction with the same checks and revision as any edit.
pub fn save_question_in(
    conn: &mut DbConnection,
    origin: &Origin,
    question: &Question,
    input: &QuestionInput,
    action: Action,
) -> Result<Saved<Question>, AppError> {
    let lock_version = input.lock_version.unwrap_or(question.lock_version);
    let tree = queries::tree(conn, question.questionnaire_id)?;
    let content = check_question_at(conn, &tree, question, input)?;
    // What is stored now, read in this transaction: the true "before" when the save succeeds.
    let current = reading_order(&tree)
        .into_iter()
        .find(|q| q.id == question.id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    if !queries::update_question(conn, question.id, lock_version, &content)? {
        return Ok(Saved::Stale(current));
    }
    history::record(
        conn,
        origin,
        Change {
            object: ObjectType::Question,
            object_id: question.id,
            questionnaire_id: question.questionnaire_id,
            action,
            reason: &content.input.reason,
            before: Some(snapshot(&input_of(&current))),
            after: Some(question_snapshot(&content)),
        },
    )?;
    audit::record(
        conn,
        origin,
        if action == Action::Restored {
            "question_restored"
        } else {
            "question_changed"
        },
        "question",
        Some(question.id),
        json!({ "before": { "text": current.text, "kind": current.kind }, "after": { "text": content.input.text, "kind": content.kind } }),
    )?;
    Ok(Saved::Done)
}

/// Checks new content for an existing question where it stands in `tree` (its questionnaire now): the
/// rules an edit and a suggestion of that edit share.
pub fn check_question_at(
    conn: &mut DbConnection,
    tree: &[SectionTree],
    question: &Question,
    input: &QuestionInput,
) -> Result<QuestionContent, AppError> {
    let earlier = earlier_than(tree, |q| q.id == question.id);
    rules::check_question(input, &earlier, &known_tags(conn)?).map_err(invalid)
}

/// Copies a question, with its wording, probes, tags and condition, to just below it.
/// Copies a section and its questions to just below it. Conditions between questions of the section
/// point at the copies; conditions on earlier questions stay as they are.
pub async fn duplicate_section(
    db: &Db,
    origin: &Origin,
    section: &Section,
) -> Result<i64, AppError> {
    let (section, origin) = (section.clone(), origin.clone());
    db.write(move |conn| {
        let tree = queries::tree(conn, section.questionnaire_id)?;
        let at = tree
            .iter()
            .position(|s| s.section.id == section.id)
            .ok_or(AppError::NotFound)?;
        let input = SectionInput {
            title: section.title.clone(),
            introduction: section.introduction.clone(),
            reason: String::new(),
        };
        let copy_id =
            queries::insert_section_after(conn, &section, &input.title, &input.introduction)?;
        history::record(
            conn,
            &origin,
            Change {
                object: ObjectType::Section,
                object_id: copy_id,
                questionnaire_id: section.questionnaire_id,
                action: Action::Duplicated,
                reason: "",
                before: None,
                after: Some(snapshot(&input)),
            },
        )?;
        // The copy follows the original, so everything up to the end of the original comes before it.
        let mut earlier: Vec<EarlierQuestion> = tree[..=at]
            .iter()
            .flat_map(|s| s.questions.iter())
            .map(|q| EarlierQuestion {
                id: q.id,
                kind: q.kind,
                options: q.options.clone(),
            })
            .collect();
        let known = known_tags(conn)?;
        let mut copies: HashMap<i64, i64> = HashMap::new();
        for question in &tree[at].questions {
            let mut input = input_of(question);
            if let Some(copy) = input.show_if_question_id.and_then(|t| copies.get(&t)) {
                input.show_if_question_id = Some(*copy);
            }
            let content = rules::check_question(&input, &earlier, &known).map_err(invalid)?;
            let id =
                queries::insert_question(conn, section.questionnaire_id, copy_id, &content, None)?;
            history::record(
                conn,
                &origin,
                Change {
                    object: ObjectType::Question,
                    object_id: id,
                    questionnaire_id: section.questionnaire_id,
                    action: Action::Duplicated,
                    reason: "",
                    before: None,
                    after: Some(question_snapshot(&content)),
                },
            )?;
            copies.insert(question.id, id);
            earlier.push(EarlierQuestion {
                id,
                kind: content.kind,
                options: content.input.options.clone(),
            });
        }
        audit::record(
            conn,
            &origin,
            "section_duplicated",
            "section",
            Some(copy_id),
            json!({ "copy_of": section.id, "questions": copies.len() }),
        )?;
        Ok(copy_id)
    })
    .await
}

pub async fn duplicate_question(
    db: &Db,
    origin: &Origin,
    question: &Question,
) -> Result<i64, AppError> {
    let (question, origin) = (question.clone(), origin.clone());
    db.write(move |conn| {
        let input = input_of(&question);
        let tree = queries::tree(conn, question.questionnaire_id)?;
        let mut earlier = earlier_than(&tree, |q| q.id == question.id);
        earlier.push(EarlierQuestion {
            id: question.id,
            kind: question.kind,
            options: question.options.clone(),
        });
        let content =
            rules::check_question(&input, &earlier, &known_tags(conn)?).map_err(invalid)?;
        let id = queries::insert_question(
            conn,
            question.questionnaire_id,
            question.section_id,
            &content,
            Some(question.position + 1),
        )?;
        history::record(
            conn,
            &origin,
            Change {
                object: ObjectType::Question,
                object_id: id,
                questionnaire_id: question.questionnaire_id,
                action: Action::Duplicated,
                reason: "",
                before: None,
                after: Some(question_snapshot(&content)),
            },
        )?;
        audit::record(
            conn,
            &origin,
            "question_duplicated",
            "question",
            Some(id),
            json!({ "copy_of": question.id }),
        )?;
        Ok(id)
    })
    .await
}

pub async fn delete_question(
    db: &Db,
    origin: &Origin,
    question: &Question,
) -> Result<(), AppError> {
    let (question, origin) = (question.clone(), origin.clone());
    db.write(move |conn| {
        let tree = queries::tree(conn, question.questionnaire_id)?;
        queries::delete_question(conn, question.id)?;
        record_deleted_question(conn, &origin, &question)?;
        record_dropped_conditions(conn, &origin, &tree, &HashSet::from([question.id]))?;
        audit::record(
            conn,
            &origin,
            "question_deleted",
            "question",
            Some(question.id),
            json!({ "text": question.text }),
        )?;
        Ok(())
    })
    .await
}

pub async fn move_question(
    db: &Db,
    origin: &Origin,
    question: &Question,
    direction: Direction,
) -> Result<(), AppError> {
    let (question, origin) = (question.clone(), origin.clone());
    db.write(move |conn| {
        if !queries::move_question(conn, question.section_id, question.id, direction)? {
            return Ok(());
        }
        check_conditions(conn, question.questionnaire_id)?;
        audit::record(
            conn,
            &origin,
            "question_moved",
            "question",
            Some(question.id),
            json!({ "direction": direction_name(direction) }),
        )?;
        Ok(())
    })
    .await
}

/// A stored question as the input that would store it again.
pub fn input_of(question: &Question) -> QuestionInput {
    QuestionInput {
        kind: question.kind.as_str().into(),
        text: question.text.clone(),
        help_text: question.help_text.clone(),
        required: question.required,
        for_staff: question.for_staff,
        for_service_users: question.for_service_users,
        for_carers: question.for_carers,
        wording_staff: question.wording_staff.clone(),
        wording_service_user: question.wording_service_user.clone(),
        wording_carer: question.wording_carer.clone(),
        wording_easy_read: question.wording_easy_read.clone(),
        options: question.options.clone(),
        likert_not_applicable: question.likert_not_applicable,
        probes: question.probes.clone(),
        system_level: question.system_level.clone().unwrap_or_default(),
        provenance: question.provenance.clone(),
        show_if_question_id: question.show_if_question_id,
        show_if_answers: question.show_if_answers.clone(),
        tags: question.tags.clone(),
        lock_version: Some(question.lock_version),
        reason: String::new(),
    }
}

/// Each taxonomy term's name in words by its code ("C-PSY" → "Psychological capability"), for pages
/// that show the codes frozen in a published version.
pub async fn term_labels(state: &AppState) -> Result<Arc<BTreeMap<String, String>>, AppError> {
    let cache = state.caches.get::<TermLabels>();
    if let Some(labels) = cache.0.get() {
        return Ok(labels.clone());
    }
    let terms = state
        .db
        .read(|conn| queries::taxonomy(conn).map_err(AppError::from))
        .await?;
    let labels = Arc::new(terms.into_iter().map(|t| (t.code, t.label)).collect());
    Ok(cache.0.get_or_init(|| labels).clone())
}

/// The taxonomy's labels by code. The taxonomy comes with the migrations and nothing changes it while
/// the service runs, so it is read once per process.
#[derive(Default)]
pub struct TermLabels(std::sync::OnceLock<Arc<BTreeMap<String, String>>>);
