//! Storage for questionnaires, sections, questions and the taxonomy. Every lookup goes through the study,
//! so an id from another study is simply not found. No HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{QuestionContent, QuestionKind};
use crate::db::schema::{
    question_tags, questionnaires, questions, sections, taxonomy_links, taxonomy_terms,
};
use crate::db::{now, DbConnection};
use crate::studies::comments::queries::{open_counts, OpenCounts};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = questionnaires)]
pub struct Questionnaire {
    pub id: i64,
    pub study_id: i64,
    pub title: String,
    pub description: String,
    /// draft, pilot or published.
    pub status: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = sections)]
pub struct Section {
    pub id: i64,
    pub questionnaire_id: i64,
    pub position: i32,
    pub title: String,
    pub introduction: String,
    pub lock_version: i32,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = questions)]
struct QuestionRow {
    id: i64,
    questionnaire_id: i64,
    section_id: i64,
    position: i32,
    kind: String,
    text: String,
    help_text: String,
    required: bool,
    for_staff: bool,
    for_service_users: bool,
    for_carers: bool,
    wording_staff: String,
    wording_service_user: String,
    wording_carer: String,
    wording_easy_read: String,
    options: String,
    likert_not_applicable: bool,
    probes: String,
    system_level: Option<String>,
    provenance: String,
    show_if_question_id: Option<i64>,
    show_if_answers: String,
    lock_version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Question {
    pub id: i64,
    pub questionnaire_id: i64,
    pub section_id: i64,
    pub position: i32,
    pub kind: QuestionKind,
    pub text: String,
    pub help_text: String,
    pub required: bool,
    pub for_staff: bool,
    pub for_service_users: bool,
    pub for_carers: bool,
    pub wording_staff: String,
    pub wording_service_user: String,
    pub wording_carer: String,
    pub wording_easy_read: String,
    pub options: Vec<String>,
    pub likert_not_applicable: bool,
    pub probes: Vec<String>,
    pub system_level: Option<String>,
    pub provenance: String,
    pub show_if_question_id: Option<i64>,
    pub show_if_answers: Vec<String>,
    /// Taxonomy term ids.
    pub tags: Vec<i64>,
    pub lock_version: i32,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl QuestionRow {
    fn into_question(self, tags: Vec<i64>) -> Question {
        Question {
            id: self.id,
            questionnaire_id: self.questionnaire_id,
            section_id: self.section_id,
            position: self.position,
            kind: QuestionKind::parse(&self.kind).unwrap_or(QuestionKind::LongText),
            options: json_list(&self.options),
            probes: json_list(&self.probes),
            show_if_answers: json_list(&self.show_if_answers),
            text: self.text,
            help_text: self.help_text,
            required: self.required,
            for_staff: self.for_staff,
            for_service_users: self.for_service_users,
            for_carers: self.for_carers,
            wording_staff: self.wording_staff,
            wording_service_user: self.wording_service_user,
            wording_carer: self.wording_carer,
            wording_easy_read: self.wording_easy_read,
            likert_not_applicable: self.likert_not_applicable,
            system_level: self.system_level,
            provenance: self.provenance,
            show_if_question_id: self.show_if_question_id,
            tags,
            lock_version: self.lock_version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = taxonomy_terms)]
pub struct TaxonomyTerm {
    pub id: i64,
    /// "comb" (a COM-B sub-component) or "tdf" (a Theoretical Domains Framework domain).
    pub scheme: String,
    pub code: String,
    pub label: String,
    pub description: String,
    pub position: i32,
}

// ---- Questionnaires ----

pub fn list_questionnaires(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<Vec<Questionnaire>> {
    questionnaires::table
        .filter(questionnaires::study_id.eq(study_id))
        .order(questionnaires::id.asc())
        .select(Questionnaire::as_select())
        .load(conn)
}

pub fn find_questionnaire(
    conn: &mut DbConnection,
    study_id: i64,
    id: i64,
) -> QueryResult<Option<Questionnaire>> {
    questionnaires::table
        .filter(questionnaires::study_id.eq(study_id))
        .filter(questionnaires::id.eq(id))
        .select(Questionnaire::as_select())
        .first(conn)
        .optional()
}

pub fn insert_questionnaire(
    conn: &mut DbConnection,
    study_id: i64,
    title: &str,
    description: &str,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(questionnaires::table)
        .values((
            questionnaires::study_id.eq(study_id),
            questionnaires::title.eq(title),
            questionnaires::description.eq(description),
            questionnaires::created_at.eq(at),
            questionnaires::updated_at.eq(at),
        ))
        .returning(questionnaires::id)
        .get_result(conn)
}

pub fn update_questionnaire(
    conn: &mut DbConnection,
    id: i64,
    title: &str,
    description: &str,
) -> QueryResult<()> {
    diesel::update(questionnaires::table.find(id))
        .set((
            questionnaires::title.eq(title),
            questionnaires::description.eq(description),
            questionnaires::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A questionnaire's sections, each with its questions in order: three queries whatever the size.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectionTree {
    pub section: Section,
    pub questions: Vec<Question>,
}

pub fn tree(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<Vec<SectionTree>> {
    let sections: Vec<Section> = sections::table
        .filter(sections::questionnaire_id.eq(questionnaire_id))
        .order((sections::position.asc(), sections::id.asc()))
        .select(Section::as_select())
        .load(conn)?;
    let rows: Vec<QuestionRow> = questions::table
        .filter(questions::questionnaire_id.eq(questionnaire_id))
        .order((questions::position.asc(), questions::id.asc()))
        .select(QuestionRow::as_select())
        .load(conn)?;
    let mut tags: HashMap<i64, Vec<i64>> = HashMap::new();
    let pairs: Vec<(i64, i64)> = question_tags::table
        .inner_join(questions::table)
        .filter(questions::questionnaire_id.eq(questionnaire_id))
        .order(question_tags::term_id.asc())
        .select((question_tags::question_id, question_tags::term_id))
        .load(conn)?;
    for (question, term) in pairs {
        tags.entry(question).or_default().push(term);
    }
    let mut by_section: HashMap<i64, Vec<Question>> = HashMap::new();
    for row in rows {
        let question_tags = tags.remove(&row.id).unwrap_or_default();
        by_section
            .entry(row.section_id)
            .or_default()
            .push(row.into_question(question_tags));
    }
    Ok(sections
        .into_iter()
        .map(|section| SectionTree {
            questions: by_section.remove(&section.id).unwrap_or_default(),
            section,
        })
        .collect())
}

/// Everything the editor shows besides the study and the questionnaire themselves.
#[derive(Debug)]
pub struct EditorData {
    pub tree: Vec<SectionTree>,
    pub terms: Vec<TaxonomyTerm>,
    /// The study's words to avoid, for the plain-language figures of each question.
    pub jargon: Vec<String>,
    pub open_comments: OpenCounts,
    pub open_suggestions: OpenCounts,
}

/// The editor's data in seven queries, whatever the number of sections, questions, tags, revisions,
/// comments or suggestions: the tree (three), the taxonomy, the study's jargon, and the open comment
/// and suggestion counts (one each).
pub fn editor_data(
    conn: &mut DbConnection,
    study_id: i64,
    questionnaire_id: i64,
) -> QueryResult<EditorData> {
    Ok(EditorData {
        tree: tree(conn, questionnaire_id)?,
        terms: taxonomy(conn)?,
        jargon: crate::studies::queries::jargon(conn, study_id)?,
        open_comments: open_counts(conn, questionnaire_id)?,
        open_suggestions: super::suggestions::queries::open_counts(conn, questionnaire_id)?,
    })
}

// ---- Sections ----

pub fn find_section(
    conn: &mut DbConnection,
    study_id: i64,
    id: i64,
) -> QueryResult<Option<(Section, Questionnaire)>> {
    sections::table
        .inner_join(questionnaires::table)
        .filter(sections::id.eq(id))
        .filter(questionnaires::study_id.eq(study_id))
        .select((Section::as_select(), Questionnaire::as_select()))
        .first(conn)
        .optional()
}

pub fn insert_section(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    title: &str,
    introduction: &str,
) -> QueryResult<i64> {
    let last: Option<i32> = sections::table
        .filter(sections::questionnaire_id.eq(questionnaire_id))
        .select(diesel::dsl::max(sections::position))
        .first(conn)?;
    let at = now();
    diesel::insert_into(sections::table)
        .values((
            sections::questionnaire_id.eq(questionnaire_id),
            sections::position.eq(last.unwrap_or(0) + 1),
            sections::title.eq(title),
            sections::introduction.eq(introduction),
            sections::created_at.eq(at),
            sections::updated_at.eq(at),
        ))
        .returning(sections::id)
        .get_result(conn)
}

/// Inserts a section just below `after`, moving the later sections down one place.
pub fn insert_section_after(
    conn: &mut DbConnection,
    after: &Section,
    title: &str,
    introduction: &str,
) -> QueryResult<i64> {
    diesel::update(
        sections::table
            .filter(sections::questionnaire_id.eq(after.questionnaire_id))
            .filter(sections::position.gt(after.position)),
    )
    .set(sections::position.eq(sections::position + 1))
    .execute(conn)?;
    let at = now();
    diesel::insert_into(sections::table)
        .values((
            sections::questionnaire_id.eq(after.questionnaire_id),
            sections::position.eq(after.position + 1),
            sections::title.eq(title),
            sections::introduction.eq(introduction),
            sections::created_at.eq(at),
            sections::updated_at.eq(at),
        ))
        .returning(sections::id)
        .get_result(conn)
}

/// Saves a section if nobody saved it since `lock_version`; false when someone did.
pub fn update_section(
    conn: &mut DbConnection,
    id: i64,
    lock_version: i32,
    title: &str,
    introduction: &str,
) -> QueryResult<bool> {
    diesel::update(
        sections::table
            .filter(sections::id.eq(id))
            .filter(sections::lock_version.eq(lock_version)),
    )
    .set((
        sections::title.eq(title),
        sections::introduction.eq(introduction),
        sections::lock_version.eq(lock_version + 1),
        sections::updated_at.eq(now()),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn delete_section(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(sections::table.find(id))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

/// Swaps positions with the neighbour in `ordered` (ids with positions, in order); false at either end.
fn swap_with_neighbour(
    ordered: &[(i64, i32)],
    id: i64,
    direction: Direction,
) -> Option<((i64, i32), (i64, i32))> {
    let at = ordered.iter().position(|(candidate, _)| *candidate == id)?;
    let other = match direction {
        Direction::Up => at.checked_sub(1)?,
        Direction::Down => Some(at + 1).filter(|i| *i < ordered.len())?,
    };
    // Equal positions (never written by us, but possible after a restore) would make a swap a no-op.
    let (mine, theirs) = (ordered[at], ordered[other]);
    let (mine_position, theirs_position) = if mine.1 == theirs.1 {
        (
            theirs.1 + if direction == Direction::Up { -1 } else { 1 },
            theirs.1,
        )
    } else {
        (theirs.1, mine.1)
    };
    Some(((mine.0, mine_position), (theirs.0, theirs_position)))
}

pub fn move_section(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    id: i64,
    direction: Direction,
) -> QueryResult<bool> {
    let ordered: Vec<(i64, i32)> = sections::table
        .filter(sections::questionnaire_id.eq(questionnaire_id))
        .order((sections::position.asc(), sections::id.asc()))
        .select((sections::id, sections::position))
        .load(conn)?;
    let Some(((a, a_position), (b, b_position))) = swap_with_neighbour(&ordered, id, direction)
    else {
        return Ok(false);
    };
    diesel::update(sections::table.find(a))
        .set(sections::position.eq(a_position))
        .execute(conn)?;
    diesel::update(sections::table.find(b))
        .set(sections::position.eq(b_position))
        .execute(conn)?;
    Ok(true)
}

// ---- Questions ----

pub fn find_question(
    conn: &mut DbConnection,
    study_id: i64,
    id: i64,
) -> QueryResult<Option<(Question, Questionnaire)>> {
    let found: Option<(QuestionRow, Questionnaire)> = questions::table
        .inner_join(sections::table.inner_join(questionnaires::table))
        .filter(questions::id.eq(id))
        .filter(questionnaires::study_id.eq(study_id))
        .select((QuestionRow::as_select(), Questionnaire::as_select()))
        .first(conn)
        .optional()?;
    let Some((row, questionnaire)) = found else {
        return Ok(None);
    };
    let tags = question_tags::table
        .filter(question_tags::question_id.eq(id))
        .order(question_tags::term_id.asc())
        .select(question_tags::term_id)
        .load(conn)?;
    Ok(Some((row.into_question(tags), questionnaire)))
}

fn set_tags(conn: &mut DbConnection, question_id: i64, tags: &[i64]) -> QueryResult<()> {
    diesel::delete(question_tags::table.filter(question_tags::question_id.eq(question_id)))
        .execute(conn)?;
    for term in tags {
        diesel::insert_into(question_tags::table)
            .values((
                question_tags::question_id.eq(question_id),
                question_tags::term_id.eq(term),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Makes room at `position` in a section by moving every later question down one.
fn open_gap(conn: &mut DbConnection, section_id: i64, position: i32) -> QueryResult<()> {
    diesel::update(
        questions::table
            .filter(questions::section_id.eq(section_id))
            .filter(questions::position.ge(position)),
    )
    .set(questions::position.eq(questions::position + 1))
    .execute(conn)
    .map(|_| ())
}

/// The columns a question's content fills: one list for insert and update, so they cannot drift apart.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = questions, treat_none_as_null = true)]
struct ContentColumns<'a> {
    kind: &'a str,
    text: &'a str,
    help_text: &'a str,
    required: bool,
    for_staff: bool,
    for_service_users: bool,
    for_carers: bool,
    wording_staff: &'a str,
    wording_service_user: &'a str,
    wording_carer: &'a str,
    wording_easy_read: &'a str,
    options: String,
    likert_not_applicable: bool,
    probes: String,
    system_level: Option<&'a str>,
    provenance: &'a str,
    show_if_question_id: Option<i64>,
    show_if_answers: String,
}

impl<'a> ContentColumns<'a> {
    fn of(content: &'a QuestionContent) -> Self {
        let q = &content.input;
        ContentColumns {
            kind: content.kind.as_str(),
            text: &q.text,
            help_text: &q.help_text,
            required: q.required,
            for_staff: q.for_staff,
            for_service_users: q.for_service_users,
            for_carers: q.for_carers,
            wording_staff: &q.wording_staff,
            wording_service_user: &q.wording_service_user,
            wording_carer: &q.wording_carer,
            wording_easy_read: &q.wording_easy_read,
            options: to_json(&q.options),
            likert_not_applicable: q.likert_not_applicable,
            probes: to_json(&q.probes),
            system_level: content.system_level.map(|l| l.as_str()),
            provenance: &q.provenance,
            show_if_question_id: q.show_if_question_id,
            show_if_answers: to_json(&q.show_if_answers),
        }
    }
}

/// Inserts a question at the end of a section, or at `position` when given.
pub fn insert_question(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    section_id: i64,
    content: &QuestionContent,
    position: Option<i32>,
) -> QueryResult<i64> {
    let position = match position {
        Some(position) => {
            open_gap(conn, section_id, position)?;
            position
        }
        None => {
            let last: Option<i32> = questions::table
                .filter(questions::section_id.eq(section_id))
                .select(diesel::dsl::max(questions::position))
                .first(conn)?;
            last.unwrap_or(0) + 1
        }
    };
    let at = now();
    let id = diesel::insert_into(questions::table)
        .values((
            ContentColumns::of(content),
            questions::questionnaire_id.eq(questionnaire_id),
            questions::section_id.eq(section_id),
            questions::position.eq(position),
            questions::created_at.eq(at),
            questions::updated_at.eq(at),
        ))
        .returning(questions::id)
        .get_result(conn)?;
    set_tags(conn, id, &content.input.tags)?;
    Ok(id)
}

/// Saves a question if nobody saved it since `lock_version`; false when someone did.
pub fn update_question(
    conn: &mut DbConnection,
    id: i64,
    lock_version: i32,
    content: &QuestionContent,
) -> QueryResult<bool> {
    let updated = diesel::update(
        questions::table
            .filter(questions::id.eq(id))
            .filter(questions::lock_version.eq(lock_version)),
    )
    .set((
        ContentColumns::of(content),
        questions::lock_version.eq(lock_version + 1),
        questions::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if updated == 1 {
        set_tags(conn, id, &content.input.tags)?;
    }
    Ok(updated == 1)
}

pub fn delete_question(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    // A condition on a deleted question would hide its dependants for ever: drop the condition instead.
    diesel::update(questions::table.filter(questions::show_if_question_id.eq(id)))
        .set((
            questions::show_if_question_id.eq(None::<i64>),
            questions::show_if_answers.eq("[]"),
        ))
        .execute(conn)?;
    diesel::delete(questions::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// How many questions have a condition on this one.
pub fn dependants(conn: &mut DbConnection, id: i64) -> QueryResult<i64> {
    questions::table
        .filter(questions::show_if_question_id.eq(id))
        .count()
        .get_result(conn)
}

pub fn move_question(
    conn: &mut DbConnection,
    section_id: i64,
    id: i64,
    direction: Direction,
) -> QueryResult<bool> {
    let ordered: Vec<(i64, i32)> = questions::table
        .filter(questions::section_id.eq(section_id))
        .order((questions::position.asc(), questions::id.asc()))
        .select((questions::id, questions::position))
        .load(conn)?;
    let Some(((a, a_position), (b, b_position))) = swap_with_neighbour(&ordered, id, direction)
    else {
        return Ok(false);
    };
    diesel::update(questions::table.find(a))
        .set(questions::position.eq(a_position))
        .execute(conn)?;
    diesel::update(questions::table.find(b))
        .set(questions::position.eq(b_position))
        .execute(conn)?;
    Ok(true)
}

// ---- Taxonomy ----

pub fn taxonomy(conn: &mut DbConnection) -> QueryResult<Vec<TaxonomyTerm>> {
    taxonomy_terms::table
        .order((taxonomy_terms::scheme.asc(), taxonomy_terms::position.asc()))
        .select(TaxonomyTerm::as_select())
        .load(conn)
}

/// (COM-B term id, TDF term id) pairs: which domains sit under which sub-component.
pub fn taxonomy_links(conn: &mut DbConnection) -> QueryResult<Vec<(i64, i64)>> {
    taxonomy_links::table
        .select((taxonomy_links::comb_term_id, taxonomy_links::tdf_term_id))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_swaps_with_the_neighbour_and_stops_at_the_ends() {
        let ordered = [(10, 1), (11, 2), (12, 3)];
        assert_eq!(
            swap_with_neighbour(&ordered, 11, Direction::Up),
            Some(((11, 1), (10, 2)))
        );
        assert_eq!(
            swap_with_neighbour(&ordered, 11, Direction::Down),
            Some(((11, 3), (12, 2)))
        );
        assert_eq!(swap_with_neighbour(&ordered, 10, Direction::Up), None);
        assert_eq!(swap_with_neighbour(&ordered, 12, Direction::Down), None);
        assert_eq!(
            swap_with_neighbour(&[(1, 5), (2, 5)], 2, Direction::Up),
            Some(((2, 4), (1, 5)))
        );
    }
}
