//! Preview rules with no storage or HTTP: which questions an audience meets, in which wording, and what
//! the interviewer's guide adds. They work on a snapshot, so the draft and every published version
//! preview the same way.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::studies::consent::rules::ConsentStatement;
use crate::studies::questionnaires::rules::QuestionKind;
use crate::studies::versions::rules::{Snapshot, SnapshotQuestion};

/// Whose eyes the questionnaire is seen through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Staff,
    ServiceUser,
    Carer,
    /// Service users and carers who read the easy-read version.
    EasyRead,
    /// The interviewer's guide: every question, every wording, probes and consent to read out.
    Interviewer,
}

pub const AUDIENCES: [Audience; 5] = [
    Audience::Staff,
    Audience::ServiceUser,
    Audience::Carer,
    Audience::EasyRead,
    Audience::Interviewer,
];

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Staff => "staff",
            Audience::ServiceUser => "service_user",
            Audience::Carer => "carer",
            Audience::EasyRead => "easy_read",
            Audience::Interviewer => "interviewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        AUDIENCES.into_iter().find(|a| a.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Audience::Staff => "A staff member",
            Audience::ServiceUser => "A service user",
            Audience::Carer => "A carer",
            Audience::EasyRead => "Easy read",
            Audience::Interviewer => "Interviewer's guide",
        }
    }

    /// Whether this audience is asked the question. Easy read is written for service users and carers,
    /// so it shows what they are asked; the interviewer sees everything.
    pub fn is_asked(self, q: &SnapshotQuestion) -> bool {
        match self {
            Audience::Staff => q.for_staff,
            Audience::ServiceUser => q.for_service_users,
            Audience::Carer => q.for_carers,
            Audience::EasyRead => q.for_service_users || q.for_carers,
            Audience::Interviewer => true,
        }
    }

    /// The words this audience reads: its own wording, or the main text when it has none.
    pub fn wording(self, q: &SnapshotQuestion) -> String {
        let own = match self {
            Audience::Staff => &q.wording_staff,
            Audience::ServiceUser => &q.wording_service_user,
            Audience::Carer => &q.wording_carer,
            Audience::EasyRead => &q.wording_easy_read,
            Audience::Interviewer => &q.text,
        };
        if own.trim().is_empty() {
            q.text.clone()
        } else {
            own.clone()
        }
    }
}

/// The questionnaire as one audience meets it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Preview {
    pub audience: Audience,
    pub title: String,
    pub description: String,
    /// Sections with no question for this audience are left out (the interviewer sees all).
    pub sections: Vec<PreviewSection>,
    /// What participants are asked to agree to, in order: the interviewer reads these out.
    pub consent_statements: Vec<ConsentStatement>,
}

impl Preview {
    /// About how many minutes the whole questionnaire takes this audience, rounded up, counting the
    /// questions everyone is asked (and those shown by an answer on the same page): the first page says
    /// the same, so the invitation's promise matches what people meet.
    pub fn minutes_to_answer(&self) -> u32 {
        let seconds: u32 = self
            .sections
            .iter()
            .flat_map(|section| {
                section.questions.iter().filter(|q| {
                    q.condition.as_ref().is_none_or(|c| {
                        section
                            .questions
                            .iter()
                            .any(|other| other.id == c.question_id)
                    })
                })
            })
            .map(|q| q.kind.seconds_to_answer())
            .sum();
        seconds.div_ceil(60)
    }
}

/// How many minutes each audience of participants needs for a version, for "about N minutes" in the
/// invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesToAnswer(Vec<(Audience, u32)>);

impl MinutesToAnswer {
    pub fn of(snapshot: &Snapshot) -> Self {
        MinutesToAnswer(
            AUDIENCES
                .into_iter()
                .filter(|a| *a != Audience::Interviewer)
                .map(|a| (a, preview(snapshot, a).minutes_to_answer().max(1)))
                .collect(),
        )
    }

    /// For this audience; the longest when it is not known yet (someone whose group is not given).
    pub fn for_audience(&self, audience: Option<Audience>) -> u32 {
        self.0
            .iter()
            .filter(|(a, _)| audience.is_none_or(|wanted| *a == wanted))
            .map(|(_, minutes)| *minutes)
            .max()
            .unwrap_or(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreviewSection {
    pub title: String,
    pub introduction: String,
    pub questions: Vec<PreviewQuestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreviewQuestion {
    /// The question's id in the snapshot: what answers are tied to.
    pub id: i64,
    /// 1, 2, … in the order this audience meets them.
    pub number: usize,
    pub kind: QuestionKind,
    /// How the answer is given, in words.
    pub kind_label: String,
    /// The question in this audience's wording.
    pub text: String,
    pub help_text: String,
    pub required: bool,
    /// What can be chosen: options, the Likert labels (and "Not applicable"), yes/no/not sure, 0 to 10.
    pub answers: Vec<String>,
    pub condition: Option<PreviewCondition>,
    /// Interviewer's guide only: each audience's wording, side by side.
    pub wordings: Vec<AudienceWording>,
    /// Interviewer's guide only.
    pub probes: Vec<String>,
    /// Interviewer's guide only: taxonomy codes.
    pub tags: Vec<String>,
}

/// "Shown only if question 3 is answered with one of these."
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreviewCondition {
    /// The id of the question it depends on.
    pub question_id: i64,
    /// The number of the question it depends on, in this preview; absent when this audience is not
    /// asked that question (so it will never see this one).
    pub number: Option<usize>,
    /// That question, in this audience's wording.
    pub text: String,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AudienceWording {
    pub audience: Audience,
    pub label: String,
    pub text: String,
}

/// What can be picked for a question, as the participant sees it.
fn answers_of(q: &SnapshotQuestion, kind: QuestionKind) -> Vec<String> {
    match kind {
        QuestionKind::Likert => {
            let mut labels = q.options.clone();
            if q.likert_not_applicable {
                labels.push("Not applicable".into());
            }
            labels
        }
        QuestionKind::Scale0To10 => (0..=10).map(|n| n.to_string()).collect(),
        other => other.choices(&q.options).unwrap_or_default(),
    }
}

/// Each participant audience asked this question, with its wording; easy read when it has its own.
fn wordings_of(q: &SnapshotQuestion) -> Vec<AudienceWording> {
    [Audience::Staff, Audience::ServiceUser, Audience::Carer]
        .into_iter()
        .filter(|a| a.is_asked(q))
        .chain(
            (!q.wording_easy_read.trim().is_empty() && Audience::EasyRead.is_asked(q))
                .then_some(Audience::EasyRead),
        )
        .map(|audience| AudienceWording {
            audience,
            label: audience.label().into(),
            text: audience.wording(q),
        })
        .collect()
}

/// The questionnaire as `audience` meets it.
/// The wording a participant reads: their group's, or easy read for service users and carers whose
/// communication needs say so. None while their group is unknown (they joined by an open link).
pub fn audience_for(group: &str, easy_read: bool) -> Option<Audience> {
    match group {
        "staff" => Some(Audience::Staff),
        "service_user" | "carer" if easy_read => Some(Audience::EasyRead),
        "service_user" => Some(Audience::ServiceUser),
        "carer" => Some(Audience::Carer),
        _ => None,
    }
}

pub fn preview(snapshot: &Snapshot, audience: Audience) -> Preview {
    let guide = audience == Audience::Interviewer;
    // Question id → (its number here, its wording here), for conditions that point back at it.
    let mut shown: HashMap<i64, (usize, String)> = HashMap::new();
    let texts: HashMap<i64, String> = snapshot
        .sections
        .iter()
        .flat_map(|s| &s.questions)
        .map(|q| (q.id, audience.wording(q)))
        .collect();
    let mut number = 0;
    let mut sections = Vec::new();
    for section in &snapshot.sections {
        let mut questions = Vec::new();
        for q in section.questions.iter().filter(|q| audience.is_asked(q)) {
            number += 1;
            let kind = QuestionKind::parse(&q.kind).unwrap_or(QuestionKind::LongText);
            let condition = q.show_if_question_id.map(|target| PreviewCondition {
                question_id: target,
                number: shown.get(&target).map(|(n, _)| *n),
                text: texts.get(&target).cloned().unwrap_or_default(),
                answers: q.show_if_answers.clone(),
            });
            let text = audience.wording(q);
            shown.insert(q.id, (number, text.clone()));
            questions.push(PreviewQuestion {
                id: q.id,
                number,
                kind,
                kind_label: kind.label().into(),
                text,
                help_text: q.help_text.clone(),
                required: q.required,
                answers: answers_of(q, kind),
                condition,
                wordings: if guide { wordings_of(q) } else { Vec::new() },
                probes: if guide { q.probes.clone() } else { Vec::new() },
                tags: if guide { q.tags.clone() } else { Vec::new() },
            });
        }
        if guide || !questions.is_empty() {
            sections.push(PreviewSection {
                title: section.title.clone(),
                introduction: section.introduction.clone(),
                questions,
            });
        }
    }
    Preview {
        audience,
        title: snapshot.title.clone(),
        description: snapshot.description.clone(),
        sections,
        consent_statements: snapshot.information.consent_statements.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::studies::consent::rules::Information;
    use crate::studies::versions::rules::SnapshotSection;

    /// A long-text question for everyone, with a probe and a tag.
    pub(crate) fn question(id: i64, text: &str) -> SnapshotQuestion {
        SnapshotQuestion {
            id,
            kind: "long_text".into(),
            text: text.into(),
            help_text: String::new(),
            required: false,
            for_staff: true,
            for_service_users: true,
            for_carers: true,
            wording_staff: String::new(),
            wording_service_user: String::new(),
            wording_carer: String::new(),
            wording_easy_read: String::new(),
            options: vec![],
            likert_not_applicable: false,
            probes: vec!["How long?".into()],
            system_level: None,
            provenance: String::new(),
            show_if_question_id: None,
            show_if_answers: vec![],
            tags: vec!["C-PSY".into()],
        }
    }

    /// A snapshot with one section per list of questions.
    pub(crate) fn snapshot(sections: Vec<Vec<SnapshotQuestion>>) -> Snapshot {
        Snapshot {
            questionnaire_id: 1,
            title: "Guide".into(),
            description: String::new(),
            sections: sections
                .into_iter()
                .enumerate()
                .map(|(i, questions)| SnapshotSection {
                    id: i as i64 + 1,
                    title: format!("Section {}", i + 1),
                    introduction: String::new(),
                    questions,
                })
                .collect(),
            information: Information::default(),
        }
    }

    #[test]
    fn the_time_to_answer_is_each_audiences_own_and_counts_what_everyone_is_asked() {
        // Staff: two long answers (3 min) and a choice; carers only the first long answer.
        let mut staff_only = question(2, "What is your role?");
        staff_only.for_service_users = false;
        staff_only.for_carers = false;
        let mut choice = question(3, "Did you take part?");
        choice.kind = "yes_no_not_sure".into();
        choice.for_carers = false;
        // Shown by an answer on another page: not counted up front, as on the first page.
        let mut later = question(4, "Why not?");
        later.show_if_question_id = Some(3);
        later.show_if_answers = vec!["No".into()];
        let snapshot = snapshot(vec![
            vec![question(1, "What helped?"), staff_only, choice],
            vec![later],
        ]);
        let minutes = MinutesToAnswer::of(&snapshot);
        assert_eq!(minutes.for_audience(Some(Audience::Staff)), 4);
        assert_eq!(minutes.for_audience(Some(Audience::Carer)), 2);
        assert_eq!(minutes.for_audience(None), 4, "the longest when unknown");
        assert_eq!(preview(&snapshot, Audience::Staff).minutes_to_answer(), 4);
    }

    #[test]
    fn each_audience_reads_its_own_wording_or_the_main_text() {
        let mut q = question(1, "What is your connection to our services?");
        q.wording_staff = "What is your role and team?".into();
        q.wording_easy_read = "  ".into();
        assert_eq!(Audience::Staff.wording(&q), "What is your role and team?");
        assert_eq!(Audience::Carer.wording(&q), q.text);
        assert_eq!(Audience::EasyRead.wording(&q), q.text, "blank falls back");
        q.wording_easy_read = "What do you do here?".into();
        assert_eq!(Audience::EasyRead.wording(&q), "What do you do here?");
        assert_eq!(Audience::Interviewer.wording(&q), q.text);
    }

    #[test]
    fn audiences_see_only_their_questions_numbered_in_their_order() {
        let mut staff_only = question(1, "Which service do you work in?");
        staff_only.for_service_users = false;
        staff_only.for_carers = false;
        let mut carers_only = question(2, "How long have you been a carer?");
        carers_only.for_staff = false;
        carers_only.for_service_users = false;
        let everyone = question(3, "Anything else?");
        let snapshot = snapshot(vec![vec![staff_only], vec![carers_only, everyone]]);

        let staff = preview(&snapshot, Audience::Staff);
        assert_eq!(staff.sections.len(), 2);
        assert_eq!(staff.sections[1].questions.len(), 1);
        assert_eq!(staff.sections[1].questions[0].number, 2);
        assert!(staff.sections[0].questions[0].probes.is_empty());

        let carer = preview(&snapshot, Audience::Carer);
        assert_eq!(
            carer.sections.len(),
            1,
            "a section with nothing for carers is left out"
        );
        assert_eq!(carer.sections[0].questions[0].number, 1);

        let easy = preview(&snapshot, Audience::EasyRead);
        assert_eq!(
            easy.sections[0].questions.len(),
            2,
            "easy read is for users and carers"
        );

        let guide = preview(&snapshot, Audience::Interviewer);
        let first = &guide.sections[0].questions[0];
        assert_eq!(first.probes, vec!["How long?"]);
        assert_eq!(first.tags, vec!["C-PSY"]);
        assert_eq!(first.wordings.len(), 1);
        assert_eq!(guide.sections[1].questions[1].wordings.len(), 3);
    }

    #[test]
    fn answers_and_conditions_are_spelt_out() {
        let mut choice = question(1, "Have you taken part before?");
        choice.kind = "yes_no_not_sure".into();
        choice.for_carers = false;
        let mut likert = question(2, "I know how to involve people.");
        likert.kind = "likert".into();
        likert.options = vec!["1".into(), "2".into(), "3".into(), "4".into(), "5".into()];
        likert.likert_not_applicable = true;
        likert.show_if_question_id = Some(1);
        likert.show_if_answers = vec!["Yes".into()];
        let snapshot = snapshot(vec![vec![choice, likert]]);

        let staff = preview(&snapshot, Audience::Staff);
        let questions = &staff.sections[0].questions;
        assert_eq!(questions[0].answers, vec!["Yes", "No", "Not sure"]);
        assert_eq!(questions[1].answers.last().unwrap(), "Not applicable");
        let condition = questions[1].condition.as_ref().unwrap();
        assert_eq!(condition.number, Some(1));
        assert_eq!(condition.answers, vec!["Yes"]);

        let carer = preview(&snapshot, Audience::Carer);
        let condition = carer.sections[0].questions[0].condition.as_ref().unwrap();
        assert_eq!(
            condition.number, None,
            "carers are not asked the question it depends on"
        );
        assert_eq!(condition.text, "Have you taken part before?");
    }
}
