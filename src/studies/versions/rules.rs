//! Version rules with no storage or HTTP: the snapshot and its canonical JSON and hash, the sign-off rule,
//! status changes, what publishing needs, and comparing two versions.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::studies::consent::rules::{self as consent, Information};
use crate::studies::queries::Member;
use crate::studies::questionnaires::queries::{Questionnaire, SectionTree};
use crate::studies::rules::Perspective;

/// Everything a participant or interviewer meets, as published: no timestamps or edit counters, so the
/// same content always gives the same hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    pub questionnaire_id: i64,
    pub title: String,
    pub description: String,
    pub sections: Vec<SnapshotSection>,
    pub information: Information,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotSection {
    pub id: i64,
    pub title: String,
    pub introduction: String,
    pub questions: Vec<SnapshotQuestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotQuestion {
    pub id: i64,
    pub kind: String,
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
    /// Taxonomy codes (e.g. "C-PSY", "TDF-KNO"): stable across databases, unlike ids.
    pub tags: Vec<String>,
}

impl Snapshot {
    /// `tag_codes` maps taxonomy term ids to their codes.
    pub fn build(
        questionnaire: &Questionnaire,
        tree: &[SectionTree],
        information: Information,
        tag_codes: &HashMap<i64, String>,
    ) -> Self {
        Snapshot {
            questionnaire_id: questionnaire.id,
            title: questionnaire.title.clone(),
            description: questionnaire.description.clone(),
            sections: tree
                .iter()
                .map(|entry| SnapshotSection {
                    id: entry.section.id,
                    title: entry.section.title.clone(),
                    introduction: entry.section.introduction.clone(),
                    questions: entry
                        .questions
                        .iter()
                        .map(|q| {
                            let mut tags: Vec<String> = q
                                .tags
                                .iter()
                                .filter_map(|id| tag_codes.get(id).cloned())
                                .collect();
                            tags.sort();
                            SnapshotQuestion {
                                id: q.id,
                                kind: q.kind.as_str().into(),
                                text: q.text.clone(),
                                help_text: q.help_text.clone(),
                                required: q.required,
                                for_staff: q.for_staff,
                                for_service_users: q.for_service_users,
                                for_carers: q.for_carers,
                                wording_staff: q.wording_staff.clone(),
                                wording_service_user: q.wording_service_user.clone(),
                                wording_carer: q.wording_carer.clone(),
                                wording_easy_read: q.wording_easy_read.clone(),
                                options: q.options.clone(),
                                likert_not_applicable: q.likert_not_applicable,
                                probes: q.probes.clone(),
                                system_level: q.system_level.clone(),
                                provenance: q.provenance.clone(),
                                show_if_question_id: q.show_if_question_id,
                                show_if_answers: q.show_if_answers.clone(),
                                tags,
                            }
                        })
                        .collect(),
                })
                .collect(),
            information,
        }
    }

    pub fn question_count(&self) -> usize {
        self.sections.iter().map(|s| s.questions.len()).sum()
    }

    /// Canonical JSON: object keys sorted, no insignificant whitespace. Whatever serde_json's map
    /// ordering features other crates switch on, the same snapshot always gives the same bytes.
    pub fn canonical_json(&self) -> String {
        canonical_json_of(&serde_json::to_value(self).expect("a snapshot is plain data"))
    }
}

/// Canonical JSON of any value: object keys sorted, no insignificant whitespace.
pub fn canonical_json_of(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lower-case hex SHA-256 of the canonical JSON.
pub fn content_hash(canonical_json: &str) -> String {
    hex::encode(Sha256::digest(canonical_json.as_bytes()))
}

// ---- Status ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Pilot,
    Published,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Pilot => "pilot",
            Status::Published => "published",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Status::Draft),
            "pilot" => Some(Status::Pilot),
            "published" => Some(Status::Published),
            _ => None,
        }
    }
}

/// Leads move a questionnaire between draft and pilot freely; only publishing makes it published, because
/// that is what freezes a version.
pub fn check_status_change(from: Status, to: Status) -> Result<(), &'static str> {
    match (from, to) {
        (_, Status::Published) => {
            Err("Publish the questionnaire to make it published: publishing freezes a version")
        }
        (from, to) if from == to => Err("The questionnaire already has this status"),
        _ => Ok(()),
    }
}

// ---- Sign-off ----

/// Who must sign off the draft before the lead may publish it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SignOffRule {
    /// Study membership ids of people who must each sign off.
    pub member_ids: Vec<i64>,
    /// At least one service-user or carer advisor of the co-design group must sign off.
    pub needs_advisor: bool,
    /// At least one staff member of the co-design group must sign off.
    pub needs_staff: bool,
}

fn is_advisor(member: &Member) -> bool {
    member.roles.can_edit_questionnaires() && member.perspective != Perspective::Staff
}

fn is_staff_designer(member: &Member) -> bool {
    member.roles.can_edit_questionnaires() && member.perspective == Perspective::Staff
}

/// Checks a rule against the study's members: it must ask for something, and something that can happen.
pub fn check_rule(rule: &SignOffRule, members: &[Member]) -> Result<SignOffRule, String> {
    let mut rule = rule.clone();
    rule.member_ids.sort_unstable();
    rule.member_ids.dedup();
    if rule
        .member_ids
        .iter()
        .any(|id| !members.iter().any(|m| m.id == *id))
    {
        return Err("Choose people from the study's members".into());
    }
    if rule.member_ids.is_empty() && !rule.needs_advisor && !rule.needs_staff {
        return Err("Name at least one person or choose a perspective who must sign off".into());
    }
    if rule.needs_advisor && !members.iter().any(is_advisor) {
        return Err(
            "There is no service-user or carer advisor among the leads and co-designers yet".into(),
        );
    }
    if rule.needs_staff && !members.iter().any(is_staff_designer) {
        return Err("There is no staff member among the leads and co-designers yet".into());
    }
    Ok(rule)
}

/// Whether this member's sign-off is asked for by the rule.
pub fn may_sign(rule: &SignOffRule, member: &Member) -> bool {
    rule.member_ids.contains(&member.id)
        || (rule.needs_advisor && is_advisor(member))
        || (rule.needs_staff && is_staff_designer(member))
}

/// What is still missing for the rule to be met, given who has signed the current draft (user ids);
/// empty when it is met.
pub fn missing_sign_offs(
    rule: &SignOffRule,
    members: &[Member],
    signed: &HashSet<i64>,
) -> Vec<String> {
    let mut missing: Vec<String> = rule
        .member_ids
        .iter()
        .filter_map(|id| match members.iter().find(|m| m.id == *id) {
            Some(m) if signed.contains(&m.user_id) => None,
            Some(m) => Some(m.display_name.clone()),
            None => Some("a person who is no longer a member (change the sign-off rule)".into()),
        })
        .collect();
    let signed_by = |test: fn(&Member) -> bool| {
        members
            .iter()
            .any(|m| test(m) && signed.contains(&m.user_id))
    };
    if rule.needs_advisor && !signed_by(is_advisor) {
        missing.push("at least one service-user or carer advisor".into());
    }
    if rule.needs_staff && !signed_by(is_staff_designer) {
        missing.push("at least one staff member of the co-design group".into());
    }
    missing
}

/// Why the draft cannot be published yet, or Ok. `latest_hash` is the hash of the newest version.
pub fn check_publish(
    status: Status,
    snapshot: &Snapshot,
    hash: &str,
    latest_hash: Option<&str>,
    missing_sign_offs: &[String],
) -> Result<(), String> {
    if status == Status::Draft {
        return Err("Move the questionnaire to pilot before publishing it: a guide is piloted before it is used.".into());
    }
    if snapshot.question_count() == 0 {
        return Err("Add at least one question before publishing.".into());
    }
    let incomplete = consent::missing_for_publication(&snapshot.information);
    if !incomplete.is_empty() {
        return Err(format!(
            "Add to the information sheet before publishing: {}.",
            incomplete.join(", ")
        ));
    }
    if latest_hash == Some(hash) {
        return Err("Nothing has changed since the last published version.".into());
    }
    if !missing_sign_offs.is_empty() {
        return Err(format!(
            "Publishing needs sign-off of this draft from: {}.",
            missing_sign_offs.join("; ")
        ));
    }
    Ok(())
}

// ---- Comparing ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One difference between two versions: a whole item added or removed, or one field of it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = VersionChange)]
pub struct Change {
    pub kind: ChangeKind,
    /// What changed, e.g. "Question 12" or "Consent statement 2".
    pub item: String,
    /// The field, for a change; absent when a whole item was added or removed.
    pub field: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

struct Item {
    key: String,
    label: String,
    summary: String,
    fields: BTreeMap<String, String>,
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// A part of a snapshot as field name → the text shown for it.
fn fields_of(part: &impl Serialize, skip: &[&str]) -> BTreeMap<String, String> {
    match serde_json::to_value(part).unwrap_or_default() {
        Value::Object(map) => map
            .into_iter()
            .filter(|(key, _)| !skip.contains(&key.as_str()))
            .map(|(key, value)| (key, shown(&value)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn items(snapshot: &Snapshot) -> Vec<Item> {
    let mut items = vec![Item {
        key: "questionnaire".into(),
        label: "Questionnaire".into(),
        summary: snapshot.title.clone(),
        fields: BTreeMap::from([
            ("title".into(), snapshot.title.clone()),
            ("description".into(), snapshot.description.clone()),
        ]),
    }];
    for (position, section) in snapshot.sections.iter().enumerate() {
        let mut fields = fields_of(section, &["id", "questions"]);
        fields.insert("position".into(), (position + 1).to_string());
        items.push(Item {
            key: format!("section:{}", section.id),
            label: format!("Section {}: {}", section.id, section.title),
            summary: section.title.clone(),
            fields,
        });
        for (position, question) in section.questions.iter().enumerate() {
            let mut fields = fields_of(question, &["id"]);
            fields.insert("section".into(), section.title.clone());
            fields.insert("position".into(), (position + 1).to_string());
            items.push(Item {
                key: format!("question:{}", question.id),
                label: format!("Question {}: {}", question.id, question.text),
                summary: question.text.clone(),
                fields,
            });
        }
    }
    items.push(Item {
        key: "information".into(),
        label: "Information sheet".into(),
        summary: snapshot.information.summary.clone(),
        fields: fields_of(&snapshot.information, &["consent_statements"]),
    });
    for (index, statement) in snapshot.information.consent_statements.iter().enumerate() {
        items.push(Item {
            key: format!("consent:{index}"),
            label: format!("Consent statement {}", index + 1),
            summary: statement.text.clone(),
            fields: fields_of(statement, &[]),
        });
    }
    items
}

/// Every difference from `before` to `after`, item by item and field by field, in the order of `after`
/// (removed items last).
pub fn compare(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let old = items(before);
    let new = items(after);
    let mut changes = Vec::new();
    for item in &new {
        match old.iter().find(|o| o.key == item.key) {
            None => changes.push(Change {
                kind: ChangeKind::Added,
                item: item.label.clone(),
                field: None,
                before: None,
                after: Some(item.summary.clone()),
            }),
            Some(previous) => {
                for (field, value) in &item.fields {
                    let was = previous.fields.get(field).cloned().unwrap_or_default();
                    if &was != value {
                        changes.push(Change {
                            kind: ChangeKind::Changed,
                            item: item.label.clone(),
                            field: Some(field.clone()),
                            before: Some(was),
                            after: Some(value.clone()),
                        });
                    }
                }
            }
        }
    }
    for item in old.iter().filter(|o| !new.iter().any(|n| n.key == o.key)) {
        changes.push(Change {
            kind: ChangeKind::Removed,
            item: item.label.clone(),
            field: None,
            before: Some(item.summary.clone()),
            after: None,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            questionnaire_id: 1,
            title: "Guide".into(),
            description: String::new(),
            sections: vec![],
            information: Information::default(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_hashes_stably() {
        let json = snapshot().canonical_json();
        assert!(
            json.starts_with("{\"description\":\"\",\"information\":{"),
            "{json}"
        );
        assert!(!json.contains(' '));
        assert_eq!(
            content_hash(&json),
            content_hash(&snapshot().canonical_json())
        );
        assert_eq!(content_hash(&json).len(), 64);
    }

    #[test]
    fn only_publishing_publishes_and_drafts_are_piloted_first() {
        assert!(check_status_change(Status::Draft, Status::Pilot).is_ok());
        assert!(check_status_change(Status::Published, Status::Draft).is_ok());
        assert!(check_status_change(Status::Pilot, Status::Published).is_err());
        let refused = check_publish(Status::Draft, &snapshot(), "h", None, &[]).unwrap_err();
        assert!(refused.contains("pilot"));
    }

    #[test]
    fn a_rule_must_ask_for_someone() {
        assert!(check_rule(&SignOffRule::default(), &[]).is_err());
        let missing = missing_sign_offs(
            &SignOffRule {
                needs_staff: true,
                ..SignOffRule::default()
            },
            &[],
            &HashSet::new(),
        );
        assert_eq!(
            missing,
            vec!["at least one staff member of the co-design group"]
        );
    }

    #[test]
    fn comparing_reports_changed_fields_and_added_items() {
        let before = snapshot();
        let mut after = snapshot();
        after.title = "New guide".into();
        after
            .information
            .consent_statements
            .push(Default::default());
        let changes = compare(&before, &after);
        assert_eq!(changes[0].field.as_deref(), Some("title"));
        assert_eq!(changes[1].kind, ChangeKind::Added);
        assert_eq!(changes.len(), 2);
    }
}
