//! Campaign rules with no storage or HTTP: email templates (checked when saved, so nothing is found
//! wrong at send time), turning a rendered email into its HTML part, recipient filters and reminder
//! schedules.

use serde::{Deserialize, Serialize};
use tera::ast::{Expr, ExprVal, Node};
use utoipa::ToSchema;

use crate::distribution::participants::rules::{Group, Progress, SystemLevel};

/// The only names an email template may use. Templates are written by the co-design group, so they get
/// these values and nothing else: no functions (Tera's `get_env` would read the server's secrets), no
/// includes, no loops.
pub const PLACEHOLDERS: &[&str] = &[
    "name",
    "link",
    "closing_date",
    "study",
    "contact",
    "opt_out_link",
    "minutes",
];

pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 10_000;

pub const DEFAULT_INVITATION_SUBJECT: &str =
    "Will you help us improve how we involve people? ({{ study }})";
pub const DEFAULT_INVITATION_BODY: &str = "Hello {{ name }},

We are asking staff, people who use our services and carers what helps and what gets in the way of \
involving service users and carers in improving our services.

Your answers would help. It takes about {{ minutes }} minutes, you can stop and come back to it, and you \
do not have to answer every question.

Start here: {{ link }}

This link is just for you. Please do not share it. It works until {{ closing_date }}.

If you have questions, contact {{ contact }}.";

pub const DEFAULT_REMINDER_SUBJECT: &str = "A reminder: {{ study }}";
pub const DEFAULT_REMINDER_BODY: &str = "Hello {{ name }},

A little while ago we asked for your views on involving service users and carers. If you would like \
to take part, there is still time until {{ closing_date }}.

Your link: {{ link }}

If you have already answered, thank you, and please ignore this email.

Contact: {{ contact }}";

/// Checks a subject or body template; on success returns the placeholders it uses, in order of first use.
pub fn check_template(text: &str, max_chars: usize) -> Result<Vec<String>, String> {
    if text.trim().is_empty() {
        return Err("Enter the text".into());
    }
    if text.chars().count() > max_chars {
        return Err(format!("This can be up to {max_chars} characters"));
    }
    let template = tera::Template::new("email", None, text)
        .map_err(|e| format!("This has a mistake in a placeholder: {}", describe(&e)))?;
    let mut used = Vec::new();
    check_nodes(&template.ast, &mut used)?;
    Ok(used)
}

/// Tera's parse errors keep the useful part in their source.
fn describe(error: &tera::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn allowed_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{{ {p} }}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_nodes(nodes: &[Node], used: &mut Vec<String>) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(_) | Node::Comment(..) | Node::Raw(..) => {}
            Node::VariableBlock(_, expr) => check_expr(expr, used)?,
            Node::If(condition, _) => {
                for (_, expr, body) in &condition.conditions {
                    check_expr(expr, used)?;
                    check_nodes(body, used)?;
                }
                if let Some((_, body)) = &condition.otherwise {
                    check_nodes(body, used)?;
                }
            }
            _ => {
                return Err(format!(
                    "Emails can only use placeholders ({}) and {{% if name %}}…{{% endif %}}",
                    allowed_list()
                ))
            }
        }
    }
    Ok(())
}

fn check_expr(expr: &Expr, used: &mut Vec<String>) -> Result<(), String> {
    match &expr.val {
        ExprVal::Ident(name) if expr.filters.is_empty() => {
            if !PLACEHOLDERS.contains(&name.as_str()) {
                return Err(format!(
                    "{{{{ {name} }}}} is not a placeholder we know. You can use {}",
                    allowed_list()
                ));
            }
            if !used.contains(name) {
                used.push(name.clone());
            }
            Ok(())
        }
        _ => Err(format!(
            "Placeholders are written like {{{{ name }}}}, with nothing else inside the braces. You can use {}",
            allowed_list()
        )),
    }
}

/// The values one email is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct Placeholders {
    pub name: String,
    pub link: String,
    pub closing_date: String,
    pub study: String,
    pub contact: String,
    pub opt_out_link: String,
    /// About how long the questionnaire takes this person (their group's wording), in minutes.
    pub minutes: u32,
}

impl Placeholders {
    fn context(&self) -> tera::Context {
        tera::Context::from_serialize(self).expect("placeholders are plain strings")
    }
}

/// How people read a closing date in an email: "Friday 18 December 2026".
pub fn closing_date_words(at: chrono::NaiveDateTime) -> String {
    at.format("%A %-d %B %Y").to_string()
}

/// The subject and body templates of one kind of email, parsed once and rendered for many people.
pub struct EmailTemplates {
    tera: tera::Tera,
    body_mentions_opt_out: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    /// The whole HTML part, as sent.
    pub html: String,
    /// Its paragraphs alone (escaped text and the study's links), for showing inside a page.
    pub html_body: String,
}

impl EmailTemplates {
    /// Both templates must have passed `check_template` when saved; a failure here means they did not.
    pub fn new(subject: &str, body: &str) -> Result<Self, String> {
        check_template(subject, SUBJECT_MAX)?;
        let body_uses = check_template(body, BODY_MAX)?;
        let mut tera = tera::Tera::default();
        tera.add_raw_templates([("subject", subject), ("body", body)])
            .map_err(|e| describe(&e))?;
        Ok(EmailTemplates {
            tera,
            body_mentions_opt_out: body_uses.iter().any(|p| p == "opt_out_link"),
        })
    }

    /// Renders one email. Every campaign email carries an opt-out link: when the body does not place it,
    /// a closing line adds it.
    pub fn render(&self, values: &Placeholders) -> Result<RenderedEmail, String> {
        let context = values.context();
        let subject = self
            .tera
            .render("subject", &context)
            .map_err(|e| describe(&e))?;
        let mut text = self
            .tera
            .render("body", &context)
            .map_err(|e| describe(&e))?;
        if !self.body_mentions_opt_out {
            text.push_str(&format!(
                "\n\nTo stop getting emails about this study: {}",
                values.opt_out_link
            ));
        }
        let html_body = paragraphs_html(&text, &[&values.link, &values.opt_out_link]);
        Ok(RenderedEmail {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            html: html_document(&html_body),
            text,
            html_body,
        })
    }
}

/// The HTML part: the same words, paragraphs at blank lines, and the study's own links made clickable.
/// Everything is escaped first, so a name or contact cannot add markup.
pub fn paragraphs_html(text: &str, links: &[&str]) -> String {
    let mut html = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut escaped = escape(paragraph.trim()).replace('\n', "<br>\n");
        for link in links.iter().filter(|l| !l.is_empty()) {
            let safe = escape(link);
            escaped = escaped.replace(&safe, &format!("<a href=\"{safe}\">{safe}</a>"));
        }
        html.push_str("<p>");
        html.push_str(&escaped);
        html.push_str("</p>\n");
    }
    html
}

/// The paragraphs as a whole email document, styled inline as mail programs need.
fn html_document(paragraphs: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5;\">{paragraphs}</body></html>"
    )
}

/// The characters that matter in HTML text and attribute values; links keep their slashes readable.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who a campaign goes to. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecipientFilter {
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub levels: Vec<SystemLevel>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where people are with this questionnaire, e.g. only those not invited yet.
    #[serde(default)]
    pub statuses: Vec<Progress>,
}

/// The research attributes a filter looks at.
pub struct Candidate<'a> {
    pub group: &'a str,
    pub service: &'a str,
    pub level: &'a str,
    pub tags: &'a [String],
    pub progress: Progress,
}

impl RecipientFilter {
    pub fn matches(&self, c: &Candidate) -> bool {
        (self.groups.is_empty() || self.groups.iter().any(|g| g.as_str() == c.group))
            && (self.services.is_empty() || self.services.iter().any(|s| s == c.service))
            && (self.levels.is_empty() || self.levels.iter().any(|l| l.as_str() == c.level))
            && (self.tags.is_empty() || self.tags.iter().any(|t| c.tags.contains(t)))
            && (self.statuses.is_empty() || self.statuses.contains(&c.progress))
    }
}

pub const MAX_REMINDERS: usize = 5;

/// "7, 14" → [7, 14]: days after the invitation, strictly increasing, each from 1 to 90, at most five.
pub fn parse_reminder_days(text: &str) -> Result<Vec<i32>, String> {
    let mut days = Vec::new();
    for part in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let day: i32 = part
            .parse()
            .map_err(|_| format!("{part:?} is not a number of days"))?;
        check_reminder_days_step(&days, day)?;
        days.push(day);
    }
    if days.len() > MAX_REMINDERS {
        return Err(format!("Send at most {MAX_REMINDERS} reminders"));
    }
    Ok(days)
}

fn check_reminder_days_step(before: &[i32], day: i32) -> Result<(), String> {
    if !(1..=90).contains(&day) {
        return Err("Each reminder is 1 to 90 days after the invitation".into());
    }
    if before.last().is_some_and(|last| day <= *last) {
        return Err("List the days in order, each later than the one before, e.g. 7, 14".into());
    }
    Ok(())
}

/// The same checks for a list that arrived as JSON.
pub fn check_reminder_days(days: &[i32]) -> Result<(), String> {
    if days.len() > MAX_REMINDERS {
        return Err(format!("Send at most {MAX_REMINDERS} reminders"));
    }
    days.iter()
        .enumerate()
        .try_for_each(|(i, day)| check_reminder_days_step(&days[..i], *day))
}

/// Which reminder (1-based) is due for someone invited at `invited_at`, having had `sent` reminders.
pub fn due_reminder(
    days: &[i32],
    invited_at: chrono::NaiveDateTime,
    sent: i32,
    now: chrono::NaiveDateTime,
) -> Option<i32> {
    let next = days.get(usize::try_from(sent).ok()?)?;
    (invited_at + chrono::Duration::days(i64::from(*next)) <= now).then_some(sent + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Placeholders {
        Placeholders {
            name: "Sam <Lee>".into(),
            link: "https://voices.example/p/abc".into(),
            closing_date: "Friday 18 December 2026".into(),
            study: "Involvement".into(),
            contact: "team@example.org".into(),
            minutes: 6,
            opt_out_link: "https://voices.example/o/xyz".into(),
        }
    }

    #[test]
    fn templates_accept_known_placeholders_and_if_blocks() {
        let used = check_template(
            "Hello {{ name }}{% if contact %}, ask {{contact}}{% endif %}: {{ link }}",
            BODY_MAX,
        )
        .unwrap();
        assert_eq!(used, vec!["name", "contact", "link"]);
    }

    #[test]
    fn templates_refuse_unknown_names_functions_and_syntax_errors() {
        let unknown = check_template("Hi {{ nmae }}", BODY_MAX).unwrap_err();
        assert!(
            unknown.contains("{{ nmae }} is not a placeholder"),
            "{unknown}"
        );
        assert!(unknown.contains("{{ opt_out_link }}"), "{unknown}");
        let env = check_template("{{ get_env(name=\"VOICES_SECRET_KEY\") }}", BODY_MAX);
        assert!(env.is_err());
        assert!(check_template("{% include \"x\" %}", BODY_MAX).is_err());
        assert!(check_template("{% for x in y %}{% endfor %}", BODY_MAX).is_err());
        assert!(check_template("{{ name | upper }}", BODY_MAX).is_err());
        let broken = check_template("Hello {{ name", BODY_MAX).unwrap_err();
        assert!(broken.starts_with("This has a mistake"), "{broken}");
        assert!(check_template("  ", BODY_MAX).is_err());
        assert!(check_template(&"x".repeat(201), SUBJECT_MAX).is_err());
    }

    #[test]
    fn rendering_escapes_html_links_the_study_links_and_adds_opt_out() {
        let templates =
            EmailTemplates::new("For  {{ name }}\n", "Hi {{ name }}\n\nGo: {{ link }}").unwrap();
        let email = templates.render(&values()).unwrap();
        assert_eq!(email.subject, "For Sam <Lee>");
        assert!(email
            .text
            .starts_with("Hi Sam <Lee>\n\nGo: https://voices.example/p/abc"));
        assert!(email.text.ends_with("https://voices.example/o/xyz"));
        assert!(email.html.contains("Hi Sam &lt;Lee&gt;"));
        assert!(email
            .html
            .contains("<a href=\"https://voices.example/p/abc\">https://voices.example/p/abc</a>"));
        assert!(email
            .html
            .contains("<a href=\"https://voices.example/o/xyz\">"));
        let placed = EmailTemplates::new("s", "{{ link }} stop: {{ opt_out_link }}").unwrap();
        let text = placed.render(&values()).unwrap().text;
        assert_eq!(text.matches("/o/xyz").count(), 1);
    }

    #[test]
    fn default_templates_pass_their_own_checks() {
        for (subject, body) in [
            (DEFAULT_INVITATION_SUBJECT, DEFAULT_INVITATION_BODY),
            (DEFAULT_REMINDER_SUBJECT, DEFAULT_REMINDER_BODY),
        ] {
            let templates = EmailTemplates::new(subject, body).unwrap();
            assert!(templates.render(&values()).unwrap().text.contains("/p/abc"));
        }
    }

    #[test]
    fn reminder_days_are_ordered_and_bounded() {
        assert_eq!(parse_reminder_days("7, 14").unwrap(), vec![7, 14]);
        assert_eq!(parse_reminder_days("").unwrap(), Vec::<i32>::new());
        assert!(parse_reminder_days("14, 7").is_err());
        assert!(parse_reminder_days("0").is_err());
        assert!(parse_reminder_days("a week").is_err());
        assert!(parse_reminder_days("1 2 3 4 5 6").is_err());
        assert!(check_reminder_days(&[3, 3]).is_err());
        let invited = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let day = chrono::Duration::days(1);
        assert_eq!(due_reminder(&[7, 14], invited, 0, invited + day * 6), None);
        assert_eq!(
            due_reminder(&[7, 14], invited, 0, invited + day * 7),
            Some(1)
        );
        assert_eq!(due_reminder(&[7, 14], invited, 1, invited + day * 10), None);
        assert_eq!(
            due_reminder(&[7, 14], invited, 1, invited + day * 20),
            Some(2)
        );
        assert_eq!(due_reminder(&[7, 14], invited, 2, invited + day * 90), None);
    }

    #[test]
    fn filters_match_on_every_given_attribute() {
        let tags = vec!["ward-a".to_string()];
        let candidate = Candidate {
            group: "carer",
            service: "Community",
            level: "micro",
            tags: &tags,
            progress: Progress::NotInvited,
        };
        assert!(RecipientFilter::default().matches(&candidate));
        let carers = RecipientFilter {
            groups: vec![Group::Carer],
            tags: vec!["ward-a".into()],
            ..RecipientFilter::default()
        };
        assert!(carers.matches(&candidate));
        let staff_only = RecipientFilter {
            groups: vec![Group::Staff],
            ..RecipientFilter::default()
        };
        assert!(!staff_only.matches(&candidate));
        let invited_only = RecipientFilter {
            statuses: vec![Progress::Invited],
            ..RecipientFilter::default()
        };
        assert!(!invited_only.matches(&candidate));
    }
}
