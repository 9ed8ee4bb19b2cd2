//! Reading a CSV file of participants, as Excel and other spreadsheets write it, into the rows that can
//! be imported and a list of every problem, row by row. Pure: nothing here stores anything, so the
//! preview and the confirmation check a file the same way.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{
    check_service_areas, normalise_email, simplify, split_list, NewParticipant, ParticipantInput,
    MAX_EMAIL,
};

/// Spreadsheet rows a file may have, the header row included.
pub const MAX_ROWS: usize = 100_000;
/// Problems kept for the preview and the API's answer; the counts cover them all.
pub const SHOWN_PROBLEMS: usize = 200;

/// How the file's bytes were read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    Utf16,
    /// Not UTF-8: read as Windows-1252, what Excel writes unless asked for "CSV UTF-8".
    Windows1252,
}

/// A column the import understands, and the field of `ParticipantInput` it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Email,
    Phone,
    Group,
    ServiceArea,
    SystemLevel,
    Tags,
    CommunicationNeeds,
    PreferredMode,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::Name,
        Column::Email,
        Column::Phone,
        Column::Group,
        Column::ServiceArea,
        Column::SystemLevel,
        Column::Tags,
        Column::CommunicationNeeds,
        Column::PreferredMode,
    ];

    /// The field name, which is also the heading the template file uses.
    fn field(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Email => "email",
            Column::Phone => "phone",
            Column::Group => "group",
            Column::ServiceArea => "service_area",
            Column::SystemLevel => "system_level",
            Column::Tags => "tags",
            Column::CommunicationNeeds => "communication_needs",
            Column::PreferredMode => "preferred_mode",
        }
    }

    /// Headings people write for this column, simplified (see `simplify`).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Name => &["name", "fullname", "participantname"],
            Column::Email => &["email", "emailaddress"],
            Column::Phone => &["phone", "phonenumber", "telephone", "mobile"],
            Column::Group => &["group", "participantgroup"],
            Column::ServiceArea => &["servicearea", "service"],
            Column::SystemLevel => &["systemlevel", "level"],
            Column::Tags => &["tags", "tag"],
            Column::CommunicationNeeds => &["communicationneeds", "communicationneed", "needs"],
            Column::PreferredMode => &["preferredmode", "mode", "interviewmode"],
        }
    }

    fn from_heading(heading: &str) -> Option<Column> {
        let wanted = simplify(heading);
        Column::ALL
            .into_iter()
            .find(|c| c.aliases().contains(&wanted.as_str()))
    }
}

/// One problem in one cell (or, with no column, in the whole row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// As a spreadsheet numbers it: the header is row 1.
    pub row: usize,
    /// The column's heading as written in the file; empty for the row as a whole.
    pub column: String,
    /// What the cell holds.
    pub value: String,
    pub message: String,
}

/// What a file holds, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub encoding: Encoding,
    /// The separator found in the header row: "," or ";" (or "tab").
    pub separator: String,
    /// Headings recognised, as written in the file.
    pub columns: Vec<String>,
    /// Headings not recognised: their cells are not imported.
    pub ignored_columns: Vec<String>,
    /// Rows with anything in them below the header.
    pub rows: usize,
    /// Rows that can be imported.
    pub accepted: usize,
    /// Rows skipped because of at least one problem.
    pub rows_with_problems: usize,
    pub problem_count: usize,
    /// The first problems (at most 200), in file order.
    pub problems: Vec<Problem>,
    /// Service areas the file names that are not on the study's list, each with its rows. Those rows
    /// have no other problem: they are imported if the areas are added to the list at confirmation.
    #[serde(default)]
    pub new_service_areas: Vec<NewServiceArea>,
    /// Rows that wait only for their service area to be added to the study's list.
    #[serde(default)]
    pub rows_needing_new_areas: usize,
}

/// A service area a file names that the study's list lacks, as first written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewServiceArea {
    pub name: String,
    pub rows: usize,
}

/// A row that passed every check, with its row number for messages at confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedRow {
    pub row: usize,
    /// The service area this row needs added to the study's list, when it is not there yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_service_area: Option<String>,
    #[serde(flatten)]
    pub participant: NewParticipant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub summary: ImportSummary,
    pub accepted: Vec<AcceptedRow>,
}

/// The bytes of an uploaded file as text: UTF-8 with or without its byte order mark, UTF-16 with one,
/// or else Windows-1252 (which decodes any bytes, so the person sees what went wrong, if anything).
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, Encoding) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let rest = &bytes[bom..];
        if encoding == encoding_rs::UTF_8 {
            if let Ok(text) = std::str::from_utf8(rest) {
                return (Cow::Borrowed(text), Encoding::Utf8);
            }
        } else {
            return (
                encoding.decode_without_bom_handling(rest).0,
                Encoding::Utf16,
            );
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), Encoding::Utf8),
        Err(_) => (
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
            Encoding::Windows1252,
        ),
    }
}

/// The separator used in the header row: whichever of `;`, `,` and tab it has most of. Excel writes
/// `;` where the decimal mark is a comma.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.matches(c).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&s| (count(s as char), s == b','))
        .unwrap_or(b',')
}

/// Reads a whole file. `service_areas` is the study's list and `on_roster` the email addresses already
/// on its roster. A problem with the file as a whole (empty, no group column, too many rows) is an
/// `Err` with a message that says what to do; problems in rows are listed in the preview.
pub fn read(
    bytes: &[u8],
    service_areas: &[String],
    on_roster: &HashSet<String>,
) -> Result<Preview, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("This is an Excel workbook, not a CSV file. In Excel, choose File, then Save a Copy, and choose the type “CSV UTF-8 (Comma delimited)”. Then upload that file.".into());
    }
    let (text, encoding) = decode(bytes);
    if text.trim().is_empty() {
        return Err("The file is empty. Choose a CSV file with a header row and one participant on each row below it.".into());
    }
    let separator = separator(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = records
        .next()
        .transpose()
        .map_err(unreadable)?
        .unwrap_or_default();
    let layout = Layout::from_header(&header)?;

    let mut summary = ImportSummary {
        encoding,
        separator: match separator {
            b'\t' => "tab".into(),
            other => (other as char).to_string(),
        },
        columns: layout.columns.iter().map(|(_, h, _)| h.clone()).collect(),
        ignored_columns: layout.ignored.clone(),
        rows: 0,
        accepted: 0,
        rows_with_problems: 0,
        problem_count: 0,
        problems: Vec::new(),
        new_service_areas: Vec::new(),
        rows_needing_new_areas: 0,
    };
    let mut accepted = Vec::new();
    // The study's list, then each area the file names that it lacks, in the file's first spelling.
    let mut known_areas = service_areas.to_vec();
    // Where each address was first seen: a later row with it is the duplicate.
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for (index, record) in records.enumerate() {
        let row = index + 2;
        if row > MAX_ROWS {
            return Err(format!(
                "The file has more than {} rows. Split it into files of up to {} rows each (the header row counts as one, and each file needs it) and import them one after another.",
                thousands(MAX_ROWS),
                thousands(MAX_ROWS)
            ));
        }
        let record = record.map_err(unreadable)?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        summary.rows += 1;
        let mut problems = layout.check_width(row, &record);
        let input = layout.input(&record);
        let mut checked = input.check(&known_areas);
        if let Err(found) = &checked {
            let area = input.service_area.trim();
            if problems.is_empty()
                && found.iter().all(|(field, _)| *field == "service_area")
                && check_service_areas(area).is_ok()
            {
                // The area is the row's only problem: it can come in once the area is on the list.
                // Checked as if the area were on the list; it joins `known_areas` for good only
                // when the row is accepted, below.
                known_areas.push(area.to_string());
                if let Ok(participant) = input.check(&known_areas) {
                    checked = Ok(participant);
                }
                known_areas.pop();
            }
        }
        let new_service_area = checked
            .as_ref()
            .ok()
            .map(|p| &p.attributes.service_area)
            .filter(|area| !area.is_empty() && !service_areas.contains(area))
            .cloned();
        if let Err(found) = &checked {
            problems.extend(
                found
                    .iter()
                    .map(|(field, message)| layout.problem(row, &record, field, message)),
            );
        }
        if let Some(email) = normalise_email(&input.email).filter(|e| e.len() <= MAX_EMAIL) {
            let message = if on_roster.contains(&email) {
                Some(
                    "A participant with this email address is already on the study's roster"
                        .to_string(),
                )
            } else {
                match first_row_of.get(&email) {
                    Some(first) => Some(format!("This email address is also on row {first}")),
                    None => {
                        first_row_of.insert(email, row);
                        None
                    }
                }
            };
            if let Some(message) = message {
                problems.push(layout.problem(row, &record, "email", &message));
            }
        }
        match checked {
            Ok(participant) if problems.is_empty() => {
                if let Some(area) = &new_service_area {
                    match summary
                        .new_service_areas
                        .iter_mut()
                        .find(|seen| &seen.name == area)
                    {
                        Some(seen) => seen.rows += 1,
                        None => {
                            known_areas.push(area.clone());
                            summary.new_service_areas.push(NewServiceArea {
                                name: area.clone(),
                                rows: 1,
                            });
                        }
                    }
                }
                accepted.push(AcceptedRow {
                    row,
                    new_service_area,
                    participant,
                })
            }
            _ => {
                summary.rows_with_problems += 1;
                summary.problem_count += problems.len();
                let room = SHOWN_PROBLEMS.saturating_sub(summary.problems.len());
                summary.problems.extend(problems.into_iter().take(room));
            }
        }
    }
    if summary.rows == 0 {
        return Err("The file has a header row but no participants below it.".into());
    }
    summary.rows_needing_new_areas = summary.new_service_areas.iter().map(|a| a.rows).sum();
    summary.accepted = accepted.len() - summary.rows_needing_new_areas;
    Ok(Preview { summary, accepted })
}

fn unreadable(error: csv::Error) -> String {
    format!("The file cannot be read as CSV ({error}). Save it from your spreadsheet as “CSV UTF-8” and try again.")
}

/// 100000 → "100,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which cell holds what, from the header row.
struct Layout {
    /// (column, heading as written, position)
    columns: Vec<(Column, String, usize)>,
    ignored: Vec<String>,
    width: usize,
}

impl Layout {
    fn from_header(header: &csv::StringRecord) -> Result<Layout, String> {
        let mut columns: Vec<(Column, String, usize)> = Vec::new();
        let mut ignored = Vec::new();
        for (position, heading) in header.iter().enumerate() {
            let heading = heading.trim();
            match Column::from_heading(heading) {
                Some(column) => {
                    if let Some((_, first, _)) = columns.iter().find(|(c, _, _)| *c == column) {
                        return Err(format!(
                            "The file has two columns for {}: “{first}” and “{heading}”. Keep one of them.",
                            column.field().replace('_', " ")
                        ));
                    }
                    columns.push((column, heading.to_string(), position));
                }
                None if heading.is_empty() => {}
                None => ignored.push(heading.to_string()),
            }
        }
        if !columns.iter().any(|(c, _, _)| *c == Column::Group) {
            let found = if header.iter().all(|h| h.trim().is_empty()) {
                "The first row is empty".to_string()
            } else {
                format!(
                    "The first row has: {}",
                    header
                        .iter()
                        .map(|h| format!("“{}”", h.trim()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(format!(
                "The file has no group column. The first row must name the columns, and one of them must be “group” (staff, service user or carer). {found}. The columns we read are: {}.",
                Column::ALL.map(Column::field).join(", ")
            ));
        }
        Ok(Layout {
            columns,
            ignored,
            width: header.len(),
        })
    }

    fn cell<'r>(&self, record: &'r csv::StringRecord, column: Column) -> &'r str {
        self.columns
            .iter()
            .find(|(c, _, _)| *c == column)
            .and_then(|(_, _, position)| record.get(*position))
            .unwrap_or("")
    }

    fn input(&self, record: &csv::StringRecord) -> ParticipantInput {
        let cell = |column| self.cell(record, column).to_string();
        ParticipantInput {
            name: cell(Column::Name),
            email: cell(Column::Email),
            phone: cell(Column::Phone),
            group: cell(Column::Group),
            service_area: cell(Column::ServiceArea),
            system_level: cell(Column::SystemLevel),
            tags: split_list(self.cell(record, Column::Tags)),
            communication_needs: split_list(self.cell(record, Column::CommunicationNeeds)),
            preferred_mode: cell(Column::PreferredMode),
        }
    }

    /// Cells beyond the header's last column usually mean a separator inside a cell without quotes:
    /// everything after it has moved one column along.
    fn check_width(&self, row: usize, record: &csv::StringRecord) -> Vec<Problem> {
        let extra: Vec<&str> = record
            .iter()
            .skip(self.width)
            .filter(|c| !c.trim().is_empty())
            .collect();
        if extra.is_empty() {
            return Vec::new();
        }
        vec![Problem {
            row,
            column: String::new(),
            value: extra.join(" "),
            message: format!(
                "This row has more cells than the header row ({} columns). A name or address with a separator in it needs quotes around it.",
                self.width
            ),
        }]
    }

    fn problem(
        &self,
        row: usize,
        record: &csv::StringRecord,
        field: &str,
        message: &str,
    ) -> Problem {
        let found = self.columns.iter().find(|(c, _, _)| c.field() == field);
        Problem {
            row,
            column: found.map_or_else(|| field.to_string(), |(_, heading, _)| heading.clone()),
            value: found
                .and_then(|(_, _, position)| record.get(*position))
                .unwrap_or("")
                .to_string(),
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::participants::rules::{CommunicationNeed, Group, SystemLevel};

    fn areas() -> Vec<String> {
        vec!["Community".into(), "Mental health".into()]
    }

    fn read_text(text: &str) -> Result<Preview, String> {
        read(text.as_bytes(), &areas(), &HashSet::new())
    }

    #[test]
    fn semicolons_a_byte_order_mark_and_labels_as_headings() {
        let file = "\u{feff}Name;E-mail address;Group;Service;Level;Tags;Communication needs\r\nAda;ADA@example.org;Service user;community;meso;pilot|ward 3;easy read, large print\r\n";
        let preview = read_text(file).unwrap();
        assert_eq!(preview.summary.separator, ";");
        assert_eq!(preview.summary.encoding, Encoding::Utf8);
        assert_eq!(preview.summary.accepted, 1);
        let p = &preview.accepted[0].participant;
        assert_eq!(preview.accepted[0].row, 2);
        assert_eq!(p.identity.name, "Ada");
        assert_eq!(p.identity.email.as_deref(), Some("ada@example.org"));
        assert_eq!(p.attributes.group, Group::ServiceUser);
        assert_eq!(p.attributes.service_area, "Community");
        assert_eq!(p.attributes.system_level, Some(SystemLevel::Meso));
        assert_eq!(p.attributes.tags, vec!["pilot", "ward 3"]);
        assert_eq!(
            p.identity.communication_needs,
            vec![CommunicationNeed::EasyRead, CommunicationNeed::LargePrint]
        );
    }

    #[test]
    fn excel_quoting_keeps_separators_newlines_and_quotes_in_cells() {
        let file = "name,group,tags\n\"Smith, Jo\",staff,\"a, b\"\n\"Line one\nline two\",carer,\n\"Say \"\"hi\"\"\",staff,\n";
        let preview = read_text(file).unwrap();
        assert_eq!(
            preview.summary.accepted, 3,
            "{:?}",
            preview.summary.problems
        );
        let names: Vec<&str> = preview
            .accepted
            .iter()
            .map(|r| r.participant.identity.name.as_str())
            .collect();
        assert_eq!(names, ["Smith, Jo", "Line one\nline two", "Say \"hi\""]);
        assert_eq!(preview.accepted[0].participant.attributes.tags, ["a", "b"]);
        // A spreadsheet's row numbers: the cell with a newline is still one row.
        assert_eq!(preview.accepted[2].row, 4);
    }

    #[test]
    fn windows_1252_bytes_are_read_and_reported() {
        let bytes = b"name,group\nZo\xeb Br\xfbl\xe9,staff\n";
        let preview = read(bytes, &areas(), &HashSet::new()).unwrap();
        assert_eq!(preview.summary.encoding, Encoding::Windows1252);
        assert_eq!(preview.accepted[0].participant.identity.name, "Zoë Brûlé");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "name\tgroup\nAnn\tcarer\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        let preview = read(&utf16, &areas(), &HashSet::new()).unwrap();
        assert_eq!(preview.summary.encoding, Encoding::Utf16);
        assert_eq!(preview.summary.separator, "tab");
        assert_eq!(
            preview.accepted[0].participant.attributes.group,
            Group::Carer
        );
    }

    #[test]
    fn every_row_problem_is_listed_with_row_and_column() {
        let file = "Name,Email,Group,Service area,Level,Preferred mode\n\
            A,a@example.org,staff,,,\n\
            B,not-an-email,patient,Dentistry,,\n\
            C,A@Example.org,carer,,mega,by owl\n\
            D,known@example.org,staff,,,\n\
            ,,,,,\n";
        let on_roster = HashSet::from(["known@example.org".to_string()]);
        let preview = read(file.as_bytes(), &areas(), &on_roster).unwrap();
        let s = &preview.summary;
        assert_eq!((s.rows, s.accepted, s.rows_with_problems), (4, 1, 3));
        let found: Vec<(usize, &str, &str)> = s
            .problems
            .iter()
            .map(|p| (p.row, p.column.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (3, "Group", "patient"),
                (3, "Service area", "Dentistry"),
                (3, "Email", "not-an-email"),
                (4, "Level", "mega"),
                (4, "Preferred mode", "by owl"),
                (4, "Email", "A@Example.org"),
                (5, "Email", "known@example.org"),
            ]
        );
        assert!(s.problems[0]
            .message
            .contains("“Staff”, “Service user” or “Carer”"));
        assert!(s.problems[1].message.contains("add it to the list first"));
        assert_eq!(s.problems[5].message, "This email address is also on row 2");
        assert!(s.problems[6]
            .message
            .contains("already on the study's roster"));
        assert_eq!(s.problem_count, 7);
    }

    #[test]
    fn formulas_are_kept_as_typed() {
        let preview =
            read_text("name,group,tags\n=HYPERLINK(\"http://x\"),staff,=1+1|@me\n").unwrap();
        let p = &preview.accepted[0].participant;
        assert_eq!(p.identity.name, "=HYPERLINK(\"http://x\")");
        assert_eq!(p.attributes.tags, ["=1+1", "@me"]);
    }

    #[test]
    fn problems_with_the_whole_file_say_what_to_do() {
        assert!(read_text("").unwrap_err().contains("empty"));
        assert!(read_text(" \r\n\r\n").unwrap_err().contains("empty"));
        assert!(read_text("\u{feff}").unwrap_err().contains("empty"));
        assert!(read_text("name,group\n")
            .unwrap_err()
            .contains("no participants below it"));
        let missing = read_text("name,email\nAda,ada@example.org\n").unwrap_err();
        assert!(
            missing.contains("no group column") && missing.contains("“name”, “email”"),
            "{missing}"
        );
        let twice = read_text("email,group,E-mail\n").unwrap_err();
        assert!(twice.contains("two columns for email"), "{twice}");
        assert!(read(b"PK\x03\x04rest", &areas(), &HashSet::new())
            .unwrap_err()
            .contains("Excel workbook"));
        let mut big = String::from("group\n");
        big.push_str(&"staff\n".repeat(MAX_ROWS));
        let error = read_text(&big).unwrap_err();
        assert!(error.contains("more than 100,000 rows"), "{error}");
        big.truncate(big.len() - "staff\n".len());
        assert_eq!(read_text(&big).unwrap().summary.accepted, MAX_ROWS - 1);
    }

    #[test]
    fn extra_cells_and_unknown_columns_are_reported() {
        let preview = read_text("name,group,notes\nSmith, Jo,staff,x,\n").unwrap();
        assert_eq!(preview.summary.ignored_columns, ["notes"]);
        assert_eq!(preview.summary.accepted, 0);
        // "Smith" is the name and " Jo" the group: both the shift and the group are reported.
        let messages: Vec<&str> = preview
            .summary
            .problems
            .iter()
            .map(|p| p.message.as_str())
            .collect();
        assert!(messages[0].contains("more cells than the header row"));
        assert!(messages[1].starts_with("This is not a group"));
    }

    #[test]
    fn only_the_first_problems_are_kept_but_all_are_counted() {
        let mut file = String::from("group\n");
        file.push_str(&"nobody\n".repeat(SHOWN_PROBLEMS + 50));
        let summary = read_text(&file).unwrap().summary;
        assert_eq!(summary.problems.len(), SHOWN_PROBLEMS);
        assert_eq!(summary.problem_count, SHOWN_PROBLEMS + 50);
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
