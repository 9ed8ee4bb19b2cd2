//! Participant vocabulary and checks with no storage or HTTP: groups, system levels, communication
//! needs and interview modes, each with the value stored and the words people read; what a participant
//! typed on a page, sent as JSON or wrote in a CSV row, checked the same way for all three; and the
//! study's list of service areas.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidateEmail;

/// Declares a closed vocabulary: stored value, label for people, and parsing that also accepts the
/// label (CSV files are typed by people).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $value:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The stored value or the label, ignoring case, spaces, hyphens and underscores.
            pub fn parse(text: &str) -> Option<Self> {
                let wanted = simplify(text);
                Self::ALL.iter().copied().find(|v| {
                    simplify(v.as_str()) == wanted || simplify(v.label()) == wanted
                })
            }

            /// The labels as a message lists them: “Staff”, “Service user” or “Carer”.
            pub fn choices() -> String {
                choices(Self::ALL.iter().map(|v| v.label()))
            }

            /// Each value with its label, for radios and checkboxes on pages.
            pub fn options() -> Vec<Choice> {
                Self::ALL
                    .iter()
                    .map(|v| Choice { value: v.as_str().to_string(), label: v.label().to_string() })
                    .collect()
            }
        }
    };
}
pub(crate) use vocabulary;

/// One choice on a form: the value sent and the words shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

pub(crate) fn choices<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = labels.map(|l| format!("“{l}”")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// Text as people may type a value or a heading: lower case, without spaces, hyphens, underscores
/// and slashes.
pub fn simplify(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

vocabulary!(
    /// Whose experience a participant speaks from.
    Group {
        Staff => "staff", "Staff";
        ServiceUser => "service_user", "Service user";
        Carer => "carer", "Carer";
    }
);

vocabulary!(
    /// Where in the organisation a participant works or is involved.
    SystemLevel {
        Micro => "micro", "Micro (team or ward)";
        Meso => "meso", "Meso (service or directorate)";
        Macro => "macro", "Macro (organisation or system)";
    }
);

vocabulary!(
    /// The Accessible Information Standard's categories that change how we contact and interview someone.
    CommunicationNeed {
        EasyRead => "easy_read", "Easy read";
        LargePrint => "large_print", "Large print";
        InterpreterBsl => "interpreter_bsl", "Interpreter or BSL";
        PhoneInterview => "phone_interview", "Phone interview";
    }
);

vocabulary!(
    /// How a participant would prefer to take part.
    InterviewMode {
        Online => "online", "Online questionnaire";
        InPerson => "in_person", "In person";
        Phone => "phone", "Phone";
        Video => "video", "Video call";
    }
);

/// Where a participant has got to with one questionnaire, furthest first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    NotInvited,
    Invited,
    Opened,
    Consented,
    Declined,
    InProgress,
    Completed,
    Withdrawn,
    OptedOut,
}

impl Progress {
    pub const ALL: &'static [Progress] = &[
        Progress::NotInvited,
        Progress::Invited,
        Progress::Opened,
        Progress::Consented,
        Progress::Declined,
        Progress::InProgress,
        Progress::Completed,
        Progress::Withdrawn,
        Progress::OptedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Progress::NotInvited => "not_invited",
            Progress::Invited => "invited",
            Progress::Opened => "opened",
            Progress::Consented => "consented",
            Progress::Declined => "declined",
            Progress::InProgress => "in_progress",
            Progress::Completed => "completed",
            Progress::Withdrawn => "withdrawn",
            Progress::OptedOut => "opted_out",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Progress::NotInvited => "Not invited",
            Progress::Invited => "Invited",
            Progress::Opened => "Opened the link",
            Progress::Consented => "Consented",
            Progress::Declined => "Declined",
            Progress::InProgress => "In progress",
            Progress::Completed => "Completed",
            Progress::Withdrawn => "Withdrawn",
            Progress::OptedOut => "Opted out",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == text)
    }

    /// From a participation's milestones (any of which may be missing). Opting out and withdrawing
    /// override everything; otherwise the furthest step reached.
    pub fn from_milestones(m: &Milestones) -> Self {
        if m.opted_out {
            Progress::OptedOut
        } else if m.withdrawn {
            Progress::Withdrawn
        } else if m.completed {
            Progress::Completed
        } else if m.declined {
            Progress::Declined
        } else if m.started {
            Progress::InProgress
        } else if m.consented {
            Progress::Consented
        } else if m.opened {
            Progress::Opened
        } else if m.invited {
            Progress::Invited
        } else {
            Progress::NotInvited
        }
    }

    /// The furthest step reached on the way to sending answers, whatever came after: someone who
    /// sent their answers and then withdrew still got as far as sending them.
    pub fn furthest(m: &Milestones) -> Self {
        Self::from_milestones(&Milestones {
            withdrawn: false,
            opted_out: false,
            ..*m
        })
    }

    /// Someone at this step has finished with the questionnaire one way or another: no reminders.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Progress::Completed | Progress::Declined | Progress::Withdrawn | Progress::OptedOut
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Milestones {
    pub invited: bool,
    pub opened: bool,
    pub consented: bool,
    pub declined: bool,
    pub started: bool,
    pub completed: bool,
    pub withdrawn: bool,
    pub opted_out: bool,
}

/// Pseudonymous codes: P-0001 ... P-9999, then P-10000 and on.
pub fn participant_code(number: i32) -> String {
    format!("P-{number:04}")
}

// Longer values than these are mistakes (a pasted paragraph, a shifted CSV column), not data.
pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PHONE: usize = 40;
pub const MAX_TAG: usize = 50;
pub const MAX_TAGS: usize = 20;
pub const MAX_SERVICE_AREA: usize = 100;
pub const MAX_SERVICE_AREAS: usize = 50;

/// A participant as typed on a page, sent as JSON or read from a CSV row: text until checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ParticipantInput {
    pub name: String,
    pub email: String,
    pub phone: String,
    /// staff, service_user or carer (the labels are accepted too).
    pub group: String,
    /// One of the study's service areas, or empty when not recorded.
    pub service_area: String,
    /// micro, meso, macro, or empty when not recorded.
    pub system_level: String,
    pub tags: Vec<String>,
    /// Any of easy_read, large_print, interpreter_bsl, phone_interview.
    pub communication_needs: Vec<String>,
    /// online, in_person, phone, video, or empty when not known.
    pub preferred_mode: String,
}

/// The pseudonymous research record: all that analysts and exports ever see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    pub group: Group,
    /// The name as on the study's list, or empty.
    pub service_area: String,
    pub system_level: Option<SystemLevel>,
    pub tags: Vec<String>,
}

/// Who a participant is and how to reach them: seen only by the study's leads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    pub name: String,
    /// Lower-cased: one address cannot be on a study's roster twice.
    pub email: Option<String>,
    pub phone: String,
    pub communication_needs: Vec<CommunicationNeed>,
    pub preferred_mode: Option<InterviewMode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewParticipant {
    pub attributes: Attributes,
    pub identity: Identity,
}

/// What is wrong with an input: the field (or CSV column) and a message to show beside it.
pub type Problems = Vec<(&'static str, String)>;

impl ParticipantInput {
    /// Everything checked at once, so a form shows every problem in one go.
    pub fn check(&self, service_areas: &[String]) -> Result<NewParticipant, Problems> {
        match (self.check_attributes(service_areas), self.check_identity()) {
            (Ok(attributes), Ok(identity)) => Ok(NewParticipant {
                attributes,
                identity,
            }),
            (attributes, identity) => Err(attributes
                .err()
                .into_iter()
                .chain(identity.err())
                .flatten()
                .collect()),
        }
    }

    pub fn check_attributes(&self, service_areas: &[String]) -> Result<Attributes, Problems> {
        let mut problems = Problems::new();
        let group = match self.group.trim() {
            "" => {
                problems.push(("group", format!("Choose a group: {}", Group::choices())));
                None
            }
            text => Group::parse(text).or_else(|| {
                problems.push((
                    "group",
                    format!("This is not a group: use {}", Group::choices()),
                ));
                None
            }),
        };
        let service_area = match self.service_area.trim() {
            "" => Some(String::new()),
            text => service_areas
                .iter()
                .find(|area| simplify(area) == simplify(text))
                .cloned()
                .or_else(|| {
                    problems.push((
                        "service_area",
                        "This service area is not on the study's list: add it to the list first, or leave it empty".into(),
                    ));
                    None
                }),
        };
        let system_level = optional(&self.system_level, SystemLevel::parse, || {
            problems.push((
                "system_level",
                format!(
                    "This is not a system level: use {}, or leave it empty",
                    SystemLevel::choices()
                ),
            ))
        });
        let tags = clean_list(&self.tags);
        if tags.len() > MAX_TAGS {
            problems.push(("tags", format!("Use up to {MAX_TAGS} tags")));
        } else if tags.iter().any(|t| t.chars().count() > MAX_TAG) {
            problems.push((
                "tags",
                format!("Each tag can be up to {MAX_TAG} characters"),
            ));
        }
        match (group, service_area, system_level) {
            (Some(group), Some(service_area), Some(system_level)) if problems.is_empty() => {
                Ok(Attributes {
                    group,
                    service_area,
                    system_level,
                    tags,
                })
            }
            _ => Err(problems),
        }
    }

    pub fn check_identity(&self) -> Result<Identity, Problems> {
        let mut problems = Problems::new();
        let name = self.name.trim();
        if name.chars().count() > MAX_NAME {
            problems.push((
                "name",
                format!("Enter a name of up to {MAX_NAME} characters"),
            ));
        }
        let email = normalise_email(&self.email);
        if email.as_deref().is_some_and(|e| !valid_email(e)) {
            problems.push((
                "email",
                "Enter an email address in the right format, like name@example.org".into(),
            ));
        }
        let phone = self.phone.trim();
        if phone.chars().count() > MAX_PHONE {
            problems.push((
                "phone",
                format!("Enter a phone number of up to {MAX_PHONE} characters"),
            ));
        }
        let mut communication_needs = Vec::new();
        for text in clean_list(&self.communication_needs) {
            match CommunicationNeed::parse(&text) {
                Some(need) if !communication_needs.contains(&need) => {
                    communication_needs.push(need)
                }
                Some(_) => {}
                None => problems.push((
                    "communication_needs",
                    format!(
                        "“{text}” is not a communication need: use {}",
                        CommunicationNeed::choices()
                    ),
                )),
            }
        }
        let preferred_mode = optional(&self.preferred_mode, InterviewMode::parse, || {
            problems.push((
                "preferred_mode",
                format!(
                    "This is not a way of taking part: use {}, or leave it empty",
                    InterviewMode::choices()
                ),
            ))
        });
        match preferred_mode {
            Some(preferred_mode) if problems.is_empty() => Ok(Identity {
                name: name.to_string(),
                email,
                phone: phone.to_string(),
                communication_needs,
                preferred_mode,
            }),
            _ => Err(problems),
        }
    }
}

/// Empty text is "not recorded" (`Some(None)`); text that does not parse reports and gives `None`.
fn optional<T>(
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
    report: impl FnOnce(),
) -> Option<Option<T>> {
    match text.trim() {
        "" => Some(None),
        text => match parse(text) {
            Some(value) => Some(Some(value)),
            None => {
                report();
                None
            }
        },
    }
}

/// Trimmed and lower-cased; empty means no address.
pub fn normalise_email(text: &str) -> Option<String> {
    let email = text.trim().to_lowercase();
    (!email.is_empty()).then_some(email)
}

/// A deliverable-looking address: the usual syntax check, and a domain with a dot in it.
fn valid_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL
        && email.validate_email()
        && email.rsplit_once('@').is_some_and(|(_, domain)| {
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
}

/// Several values typed in one box or cell: `|` or `,` between them.
pub fn split_list(text: &str) -> Vec<String> {
    clean_list(
        &text
            .split(['|', ','])
            .map(str::to_string)
            .collect::<Vec<_>>(),
    )
}

/// Trimmed, without empty entries or repeats (ignoring case), in the order given.
fn clean_list(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty() && seen.insert(item.to_lowercase()))
        .map(str::to_string)
        .collect()
}

/// Keeps one spelling per tag in a study: a tag that differs from one already in use only by case is
/// written the way it was first written, so filtering by a tag finds everyone with it.
pub struct TagSpellings(HashMap<String, String>);

impl TagSpellings {
    pub fn new(in_use: impl IntoIterator<Item = String>) -> Self {
        TagSpellings(in_use.into_iter().map(|t| (t.to_lowercase(), t)).collect())
    }

    pub fn apply(&mut self, tags: &mut [String]) {
        for tag in tags {
            match self.0.get(&tag.to_lowercase()) {
                Some(spelling) => tag.clone_from(spelling),
                None => {
                    self.0.insert(tag.to_lowercase(), tag.clone());
                }
            }
        }
    }
}

/// The study's service areas from a box with one per line: trimmed, without empty lines or repeats.
pub fn check_service_areas(lines: &str) -> Result<Vec<String>, String> {
    let areas = clean_list(&lines.lines().map(str::to_string).collect::<Vec<_>>());
    if areas.len() > MAX_SERVICE_AREAS {
        Err(format!("Use up to {MAX_SERVICE_AREAS} service areas"))
    } else if let Some(long) = areas.iter().find(|a| a.chars().count() > MAX_SERVICE_AREA) {
        Err(format!(
            "“{long}” is too long: a service area can be up to {MAX_SERVICE_AREA} characters"
        ))
    } else {
        Ok(areas)
    }
}

/// Refuses to take an area off the list while participants are placed in it: they would keep a
/// service area nobody can choose or filter by. `in_use` counts participants per area.
pub fn check_removals(
    before: &[String],
    after: &[String],
    in_use: &BTreeMap<String, i64>,
) -> Result<(), String> {
    let still_used: Vec<String> = before
        .iter()
        .filter(|area| !after.contains(area))
        .filter_map(|area| {
            let count = *in_use.get(area)?;
            let people = if count == 1 {
                "participant"
            } else {
                "participants"
            };
            Some(format!("“{area}” ({count} {people})"))
        })
        .collect();
    if still_used.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "These service areas are still used, so they stay on the list: {}. Move those participants to another service area first.",
            still_used.join(", ")
        ))
    }
}

/// Whether stored communication needs (a JSON list of names) ask for easy read.
pub fn needs_easy_read(communication_needs: Option<&str>) -> bool {
    communication_needs
        .and_then(|n| serde_json::from_str::<Vec<String>>(n).ok())
        .is_some_and(|needs| {
            needs
                .iter()
                .any(|n| n == CommunicationNeed::EasyRead.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_accept_values_and_labels() {
        assert_eq!(Group::parse("service user"), Some(Group::ServiceUser));
        assert_eq!(Group::parse("Service_User"), Some(Group::ServiceUser));
        assert_eq!(Group::parse("CARER"), Some(Group::Carer));
        assert_eq!(Group::parse("patient"), None);
        assert_eq!(
            CommunicationNeed::parse("Interpreter or BSL"),
            Some(CommunicationNeed::InterpreterBsl)
        );
        assert_eq!(SystemLevel::parse("meso"), Some(SystemLevel::Meso));
    }

    #[test]
    fn progress_takes_the_furthest_step_and_opt_out_wins() {
        let mut m = Milestones {
            invited: true,
            opened: true,
            consented: true,
            ..Milestones::default()
        };
        assert_eq!(Progress::from_milestones(&m), Progress::Consented);
        m.completed = true;
        assert_eq!(Progress::from_milestones(&m), Progress::Completed);
        m.opted_out = true;
        assert_eq!(Progress::from_milestones(&m), Progress::OptedOut);
        assert!(Progress::OptedOut.is_finished() && !Progress::Opened.is_finished());
        assert_eq!(participant_code(42), "P-0042");
        assert_eq!(participant_code(12345), "P-12345");
    }

    fn areas() -> Vec<String> {
        vec!["Community".into(), "Sexual health".into()]
    }

    #[test]
    fn a_participant_is_checked_and_tidied() {
        let input = ParticipantInput {
            name: "  Ada Lovelace ".into(),
            email: " Ada@Example.ORG ".into(),
            group: "Service user".into(),
            service_area: "sexual health".into(),
            system_level: "".into(),
            tags: vec!["pilot".into(), " Pilot".into(), "".into(), "ward 3".into()],
            communication_needs: vec!["easy read".into(), "BSL".into()],
            ..ParticipantInput::default()
        };
        let problems = input.check(&areas()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "communication_needs");
        assert!(problems[0].1.contains("“BSL”") && problems[0].1.contains("“Interpreter or BSL”"));

        let input = ParticipantInput {
            communication_needs: vec!["easy read".into(), "Interpreter or BSL".into()],
            ..input
        };
        let checked = input.check(&areas()).unwrap();
        assert_eq!(checked.identity.name, "Ada Lovelace");
        assert_eq!(checked.identity.email.as_deref(), Some("ada@example.org"));
        assert_eq!(checked.attributes.group, Group::ServiceUser);
        assert_eq!(checked.attributes.service_area, "Sexual health");
        assert_eq!(checked.attributes.system_level, None);
        assert_eq!(checked.attributes.tags, vec!["pilot", "ward 3"]);
        assert_eq!(
            checked.identity.communication_needs,
            vec![
                CommunicationNeed::EasyRead,
                CommunicationNeed::InterpreterBsl
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let input = ParticipantInput {
            email: "ada@@example".into(),
            group: "patient".into(),
            service_area: "Dentistry".into(),
            system_level: "mega".into(),
            preferred_mode: "carrier pigeon".into(),
            phone: "0".repeat(MAX_PHONE + 1),
            ..ParticipantInput::default()
        };
        let problems = input.check(&areas()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "group",
                "service_area",
                "system_level",
                "email",
                "phone",
                "preferred_mode"
            ]
        );
        assert_eq!(
            problems[0].1,
            "This is not a group: use “Staff”, “Service user” or “Carer”"
        );
        let missing = ParticipantInput::default().check(&areas()).unwrap_err();
        assert_eq!(
            missing,
            vec![(
                "group",
                "Choose a group: “Staff”, “Service user” or “Carer”".to_string()
            )]
        );
        for bad in [
            "name@localhost",
            "name@.org",
            "@example.org",
            "name example.org",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_email("o'neil+study@nhs.example.uk"));
    }

    #[test]
    fn lists_split_on_bars_and_commas() {
        assert_eq!(split_list("a| b ,,A, c"), vec!["a", "b", "c"]);
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn a_tag_keeps_the_spelling_it_was_first_given() {
        let mut spellings = TagSpellings::new(["Pilot".to_string()]);
        let mut tags = vec!["pilot".to_string(), "NHS".to_string()];
        spellings.apply(&mut tags);
        assert_eq!(tags, ["Pilot", "NHS"]);
        let mut later = vec!["nhs".to_string()];
        spellings.apply(&mut later);
        assert_eq!(later, ["NHS"]);
    }

    #[test]
    fn service_areas_in_use_stay_on_the_list() {
        let areas = check_service_areas("Community\n\n  Addictions \ncommunity\n").unwrap();
        assert_eq!(areas, vec!["Community", "Addictions"]);
        assert!(check_service_areas(&"x".repeat(MAX_SERVICE_AREA + 1)).is_err());
        let in_use = BTreeMap::from([("Community".to_string(), 3), ("Addictions".to_string(), 1)]);
        let error = check_removals(&areas, &["Addictions".into()], &in_use).unwrap_err();
        assert!(error.contains("“Community” (3 participants)"), "{error}");
        assert!(check_removals(
            &areas,
            &["Community".into(), "Addictions".into(), "New".into()],
            &in_use
        )
        .is_ok());
    }
}
