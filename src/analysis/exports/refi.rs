//! REFI-QDA, the exchange standard NVivo, ATLAS.ti, MAXQDA and QualCoder read: a whole project as a
//! `.qdpx` file (a zip of `project.qde` in the `urn:QDA-XML:project:1.0` namespace and each text source
//! as a UTF-8 file under `sources/`), and a codebook alone as a `.qdc` file
//! (`urn:QDA-XML:codebook:1.0`). Pure: no storage, no HTTP. The caller gives everything, with GUIDs
//! it keeps stable (see [`guid`]); the writer checks that every reference points at something given.
//!
//! Positions are counted as REFI-QDA's `PlainTextSelection` counts them: in characters (Unicode
//! scalar values) from the start of the source's text, the end exclusive.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use chrono::{Datelike, NaiveDateTime, Timelike};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::ZipWriter;

pub const PROJECT_NAMESPACE: &str = "urn:QDA-XML:project:1.0";
pub const CODEBOOK_NAMESPACE: &str = "urn:QDA-XML:codebook:1.0";
const ORIGIN: &str = "Voices";

/// Our own namespace for name-based (version 5) UUIDs: the same study and thing always give the
/// same GUID, so a project exported twice lines up in the tool it is imported into.
const VOICES_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f1c_2d0e_8b4a_4f5e_9a3c_1d2e_3f4a_5b6c);

/// A stable GUID (8-4-4-4-12, lower case) for a thing of a study: `guid(7, "code", 12)`.
pub fn guid(study_id: i64, kind: &str, id: impl std::fmt::Display) -> String {
    uuid::Uuid::new_v5(
        &VOICES_NAMESPACE,
        format!("voices:study:{study_id}:{kind}:{id}").as_bytes(),
    )
    .to_string()
}

/// A person who coded or wrote notes, named pseudonymously ("Coder 1"), never by their real name.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub guid: String,
    pub name: String,
}

/// A code in the codebook. Codes are nested under their parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub guid: String,
    /// The parent code's GUID; None at the top.
    pub parent: Option<String>,
    pub name: String,
    /// `#RRGGBB`; anything else is left out.
    pub colour: Option<String>,
    /// The definition, with inclusion and exclusion notes and an example if wanted.
    pub description: String,
}

/// A text to code: an answer, or an interview's notes, as plain text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSource {
    pub guid: String,
    pub name: String,
    pub text: String,
    /// Shown with the source in the tool; may be empty.
    pub description: String,
    pub created_at: NaiveDateTime,
}

/// One code applied to a passage of a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub guid: String,
    /// The source's GUID.
    pub source: String,
    /// First character, counted in Unicode scalar values from 0.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The code's GUID.
    pub code: String,
    /// The coder's GUID, one of the project's users.
    pub coder: Option<String>,
    pub created_at: NaiveDateTime,
    /// Written as the selection's description, e.g. "Valence: barrier".
    pub description: String,
}

/// What a note is about.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteOn {
    Project,
    Code(String),
    Source(String),
    Selection(String),
}

/// A memo: on the project, a code, a source or a coded passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub guid: String,
    pub name: String,
    pub text: String,
    pub author: Option<String>,
    pub created_at: NaiveDateTime,
    pub on: NoteOn,
}

/// An attribute cases carry (participant group, service, level), as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub guid: String,
    pub name: String,
}

/// A case: usually one participant by their code, with their attributes and their sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub guid: String,
    pub name: String,
    /// (variable GUID, value).
    pub values: Vec<(String, String)>,
    /// GUIDs of the sources that belong to the case.
    pub sources: Vec<String>,
}

/// What a project holds besides its cases and sources, given before them: all of it small (the
/// coders, the codebook, the attributes, the memos).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectHead {
    pub name: String,
    pub created_at: NaiveDateTime,
    pub users: Vec<User>,
    pub codes: Vec<Code>,
    pub variables: Vec<Variable>,
    /// A note on a source or a selection that the project does not come to hold is left out.
    pub notes: Vec<Note>,
}

/// Why a project could not be written: a reference to something not given, a GUID not in 8-4-4-4-12
/// form or used twice, a selection outside its source's text; or the file could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("REFI-QDA export: {0}")]
pub struct RefiError(pub String);

impl From<io::Error> for RefiError {
    fn from(error: io::Error) -> Self {
        RefiError(format!("writing: {error}"))
    }
}

impl From<zip::result::ZipError> for RefiError {
    fn from(error: zip::result::ZipError) -> Self {
        RefiError(format!("zip: {error}"))
    }
}

fn err<T>(message: String) -> Result<T, RefiError> {
    Err(RefiError(message))
}

/// The GUID form the schema accepts (we write lower case, without braces).
pub fn is_guid(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok_and(|u| u.hyphenated().to_string() == text.to_lowercase())
}

fn is_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// XML 1.0 cannot carry most control characters, even escaped: they are left out.
fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if text.chars().all(allowed) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
}

/// Attribute values: also one line (parsers turn line breaks in attributes into spaces anyway).
fn one_line(text: &str) -> String {
    xml_safe(text).replace(['\n', '\r', '\t'], " ")
}

fn timestamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

struct Xml<W: Write> {
    writer: Writer<W>,
}

impl<W: Write> Xml<W> {
    fn new(out: W) -> io::Result<Self> {
        let mut writer = Writer::new_with_indent(out, b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        Ok(Xml { writer })
    }

    fn element(&mut self, name: &str, attributes: &[(&str, &str)], empty: bool) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            start.push_attribute((*key, one_line(value).as_str()));
        }
        let event = if empty {
            Event::Empty(start)
        } else {
            Event::Start(start)
        };
        self.writer.write_event(event)
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.element(name, attributes, false)
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.element(name, attributes, true)
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`, the text escaped.
    fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.open(name, &[])?;
        self.writer
            .write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
        self.close(name)
    }

    fn finish(self) -> W {
        self.writer.into_inner()
    }
}

fn check_codes(codes: &[Code]) -> Result<(), RefiError> {
    let known: HashSet<&str> = codes.iter().map(|c| c.guid.as_str()).collect();
    if known.len() != codes.len() {
        return err("two codes have the same GUID".into());
    }
    for code in codes {
        if !is_guid(&code.guid) {
            return err(format!("code {:?} has GUID {:?}", code.name, code.guid));
        }
        if let Some(parent) = &code.parent {
            if !known.contains(parent.as_str()) || parent == &code.guid {
                return err(format!("code {:?} has an unknown parent", code.name));
            }
        }
    }
    // Every code must reach the top: a loop would leave codes out of the tree.
    let parents: HashMap<&str, Option<&str>> = codes
        .iter()
        .map(|c| (c.guid.as_str(), c.parent.as_deref()))
        .collect();
    for code in codes {
        let (mut at, mut steps) = (code.parent.as_deref(), 0);
        while let Some(parent) = at {
            steps += 1;
            if steps > codes.len() {
                return err(format!("code {:?} is in a loop of parents", code.name));
            }
            at = parents.get(parent).copied().flatten();
        }
    }
    Ok(())
}

/// Note GUIDs by the GUID of what they are about.
type NotesOn = HashMap<String, Vec<String>>;

/// Codes nested under their parents, in the order given; `notes` gives each code's NoteRefs.
fn write_codes<W: Write>(xml: &mut Xml<W>, codes: &[Code], notes: &NotesOn) -> io::Result<()> {
    fn write<W: Write>(
        xml: &mut Xml<W>,
        code: &Code,
        children: &HashMap<Option<&str>, Vec<&Code>>,
        notes: &NotesOn,
    ) -> io::Result<()> {
        let mut attributes = vec![
            ("guid", code.guid.as_str()),
            ("name", code.name.as_str()),
            ("isCodable", "true"),
        ];
        if let Some(colour) = code.colour.as_deref().filter(|c| is_colour(c)) {
            attributes.push(("color", colour));
        }
        let under = children.get(&Some(code.guid.as_str()));
        let refs = notes.get(code.guid.as_str());
        if code.description.is_empty() && under.is_none() && refs.is_none() {
            return xml.empty("Code", &attributes);
        }
        xml.open("Code", &attributes)?;
        if !code.description.is_empty() {
            xml.text("Description", &code.description)?;
        }
        for target in refs.into_iter().flatten() {
            xml.empty("NoteRef", &[("targetGUID", target)])?;
        }
        for child in under.into_iter().flatten() {
            write(xml, child, children, notes)?;
        }
        xml.close("Code")
    }
    let mut children: HashMap<Option<&str>, Vec<&Code>> = HashMap::new();
    for code in codes {
        children
            .entry(code.parent.as_deref())
            .or_default()
            .push(code);
    }
    xml.open("Codes", &[])?;
    for top in children.get(&None).into_iter().flatten() {
        write(xml, top, &children, notes)?;
    }
    xml.close("Codes")
}

/// A codebook alone, as a `.qdc` file (`urn:QDA-XML:codebook:1.0`). The codebook export and the
/// project's CodeBook are written by the same code.
pub fn codebook_qdc(codes: &[Code]) -> Result<String, RefiError> {
    check_codes(codes)?;
    if codes.is_empty() {
        return err("a codebook needs at least one code".into());
    }
    let mut xml = Xml::new(Vec::new())?;
    xml.open(
        "CodeBook",
        &[("xmlns", CODEBOOK_NAMESPACE), ("origin", ORIGIN)],
    )?;
    write_codes(&mut xml, codes, &NotesOn::new())?;
    xml.close("CodeBook")?;
    Ok(String::from_utf8(xml.finish()).expect("we wrote UTF-8"))
}

/// `project.qde` written as its parts come: the head, then each case, then each source with its
/// selections; `finish` adds the notes. Sources are referred to by `internal://<guid>.txt`.
/// Everything is checked as it is written: GUIDs in the schema's form and never used twice, every
/// reference to something the project holds, every selection inside its source's text.
pub struct ProjectWriter<W: Write> {
    xml: Xml<W>,
    notes: Vec<Note>,
    notes_on: NotesOn,
    /// The section open now: Cases, then Sources.
    open: Option<&'static str>,
    guids: HashSet<u128>,
    users: HashSet<String>,
    codes: HashSet<String>,
    variables: HashSet<String>,
    /// Sources a case named that have not been written yet.
    awaited: HashSet<String>,
    /// Sources and selections written that notes are about.
    noted: HashSet<String>,
}

impl<W: Write> ProjectWriter<W> {
    /// Writes the head: the project's users, codebook and variables.
    pub fn start(out: W, head: ProjectHead) -> Result<Self, RefiError> {
        check_codes(&head.codes)?;
        let mut project = ProjectWriter {
            xml: Xml::new(out)?,
            notes: Vec::new(),
            notes_on: NotesOn::new(),
            open: None,
            guids: HashSet::new(),
            users: head.users.iter().map(|u| u.guid.clone()).collect(),
            codes: head.codes.iter().map(|c| c.guid.clone()).collect(),
            variables: head.variables.iter().map(|v| v.guid.clone()).collect(),
            awaited: HashSet::new(),
            noted: HashSet::new(),
        };
        let guids = (head.users.iter().map(|u| &u.guid))
            .chain(head.codes.iter().map(|c| &c.guid))
            .chain(head.variables.iter().map(|v| &v.guid))
            .chain(head.notes.iter().map(|n| &n.guid));
        for guid in guids {
            project.claim(guid)?;
        }
        for note in &head.notes {
            let target = match &note.on {
                NoteOn::Project => None,
                NoteOn::Code(t) if !project.codes.contains(t) => {
                    return err(format!("note {:?} refers to something unknown", note.name))
                }
                NoteOn::Code(t) | NoteOn::Source(t) | NoteOn::Selection(t) => Some(t),
            };
            if note
                .author
                .as_deref()
                .is_some_and(|a| !project.users.contains(a))
            {
                return err(format!("note {:?} refers to something unknown", note.name));
            }
            if let Some(target) = target {
                project
                    .notes_on
                    .entry(target.clone())
                    .or_default()
                    .push(note.guid.clone());
            }
        }
        project.notes = head.notes;
        let xml = &mut project.xml;
        let created = timestamp(head.created_at);
        xml.open(
            "Project",
            &[
                ("xmlns", PROJECT_NAMESPACE),
                ("name", &head.name),
                ("origin", ORIGIN),
                ("creationDateTime", &created),
            ],
        )?;
        if !head.users.is_empty() {
            xml.open("Users", &[])?;
            for user in &head.users {
                xml.empty("User", &[("guid", &user.guid), ("name", &user.name)])?;
            }
            xml.close("Users")?;
        }
        if !head.codes.is_empty() {
            xml.open("CodeBook", &[])?;
            write_codes(xml, &head.codes, &project.notes_on)?;
            xml.close("CodeBook")?;
        }
        if !head.variables.is_empty() {
            xml.open("Variables", &[])?;
            for variable in &head.variables {
                xml.empty(
                    "Variable",
                    &[
                        ("guid", &variable.guid),
                        ("name", &variable.name),
                        ("typeOfVariable", "Text"),
                    ],
                )?;
            }
            xml.close("Variables")?;
        }
        Ok(project)
    }

    /// A GUID in the schema's form, not used before in the project.
    fn claim(&mut self, guid: &str) -> Result<(), RefiError> {
        if !is_guid(guid) {
            return err(format!("{guid:?} is not a GUID"));
        }
        let id = uuid::Uuid::try_parse(guid).expect("checked").as_u128();
        if !self.guids.insert(id) {
            return err(format!("GUID {guid} is used twice"));
        }
        Ok(())
    }

    fn section(&mut self, name: &'static str) -> io::Result<()> {
        if self.open != Some(name) {
            if let Some(open) = self.open {
                self.xml.close(open)?;
            }
            self.xml.open(name, &[])?;
            self.open = Some(name);
        }
        Ok(())
    }

    /// A case; every case comes before the first source.
    pub fn case(&mut self, case: &Case) -> Result<(), RefiError> {
        if self.open == Some("Sources") {
            return err(format!("case {:?} comes after the sources", case.name));
        }
        self.claim(&case.guid)?;
        if case
            .values
            .iter()
            .any(|(v, _)| !self.variables.contains(v.as_str()))
        {
            return err(format!("case {:?} refers to something unknown", case.name));
        }
        self.awaited.extend(case.sources.iter().cloned());
        self.section("Cases")?;
        let xml = &mut self.xml;
        xml.open("Case", &[("guid", &case.guid), ("name", &case.name)])?;
        for (variable, value) in &case.values {
            xml.open("VariableValue", &[])?;
            xml.empty("VariableRef", &[("targetGUID", variable)])?;
            xml.text("TextValue", value)?;
            xml.close("VariableValue")?;
        }
        for source in &case.sources {
            xml.empty("SourceRef", &[("targetGUID", source)])?;
        }
        xml.close("Case")?;
        Ok(())
    }

    /// A text source with the passages coded in it.
    pub fn source(
        &mut self,
        source: &TextSource,
        selections: &[Selection],
    ) -> Result<(), RefiError> {
        self.claim(&source.guid)?;
        let length = source.text.chars().count();
        for s in selections {
            self.claim(&s.guid)?;
            if s.source != source.guid {
                return err(format!("selection {} is in an unknown source", s.guid));
            }
            if s.start > s.end || s.end > length {
                return err(format!(
                    "selection {} ({}..{}) is outside its source of {length} characters",
                    s.guid, s.start, s.end
                ));
            }
            if !self.codes.contains(s.code.as_str()) {
                return err(format!("selection {} has an unknown code", s.guid));
            }
            if s.coder.as_deref().is_some_and(|c| !self.users.contains(c)) {
                return err(format!("selection {} has an unknown coder", s.guid));
            }
        }
        self.awaited.remove(&source.guid);
        for guid in std::iter::once(&source.guid).chain(selections.iter().map(|s| &s.guid)) {
            if self.notes_on.contains_key(guid) {
                self.noted.insert(guid.clone());
            }
        }
        self.section("Sources")?;
        let (xml, notes_on) = (&mut self.xml, &self.notes_on);
        let path = format!("internal://{}.txt", source.guid);
        let at = timestamp(source.created_at);
        xml.open(
            "TextSource",
            &[
                ("guid", &source.guid),
                ("name", &source.name),
                ("plainTextPath", &path),
                ("creationDateTime", &at),
            ],
        )?;
        if !source.description.is_empty() {
            xml.text("Description", &source.description)?;
        }
        for selection in selections {
            let (start, end) = (selection.start.to_string(), selection.end.to_string());
            let at = timestamp(selection.created_at);
            let mut attributes = vec![
                ("guid", selection.guid.as_str()),
                ("startPosition", &start),
                ("endPosition", &end),
            ];
            if let Some(coder) = &selection.coder {
                attributes.push(("creatingUser", coder));
            }
            attributes.push(("creationDateTime", &at));
            xml.open("PlainTextSelection", &attributes)?;
            if !selection.description.is_empty() {
                xml.text("Description", &selection.description)?;
            }
            let coding = guid_of_coding(&selection.guid);
            let mut coding_attributes = vec![("guid", coding.as_str())];
            if let Some(coder) = &selection.coder {
                coding_attributes.push(("creatingUser", coder));
            }
            coding_attributes.push(("creationDateTime", &at));
            xml.open("Coding", &coding_attributes)?;
            xml.empty("CodeRef", &[("targetGUID", &selection.code)])?;
            xml.close("Coding")?;
            for target in notes_on.get(selection.guid.as_str()).into_iter().flatten() {
                xml.empty("NoteRef", &[("targetGUID", target)])?;
            }
            xml.close("PlainTextSelection")?;
        }
        for target in notes_on.get(source.guid.as_str()).into_iter().flatten() {
            xml.empty("NoteRef", &[("targetGUID", target)])?;
        }
        xml.close("TextSource")?;
        Ok(())
    }

    /// The notes on what the project holds, and the end of the project.
    pub fn finish(mut self) -> Result<W, RefiError> {
        if let Some(open) = self.open.take() {
            self.xml.close(open)?;
        }
        if let Some(missing) = self.awaited.iter().next() {
            return err(format!(
                "a case refers to source {missing}, which is not in the project"
            ));
        }
        let ProjectWriter {
            mut xml,
            notes,
            noted,
            ..
        } = self;
        let notes: Vec<Note> = notes
            .into_iter()
            .filter(|note| match &note.on {
                NoteOn::Project | NoteOn::Code(_) => true,
                NoteOn::Source(t) | NoteOn::Selection(t) => noted.contains(t),
            })
            .collect();
        if !notes.is_empty() {
            xml.open("Notes", &[])?;
            for note in &notes {
                let at = timestamp(note.created_at);
                let mut attributes = vec![("guid", note.guid.as_str()), ("name", &note.name)];
                if let Some(author) = &note.author {
                    attributes.push(("creatingUser", author));
                }
                attributes.push(("creationDateTime", &at));
                xml.open("Note", &attributes)?;
                xml.text("PlainTextContent", &note.text)?;
                xml.close("Note")?;
            }
            xml.close("Notes")?;
        }
        for note in notes.iter().filter(|n| n.on == NoteOn::Project) {
            xml.empty("NoteRef", &[("targetGUID", &note.guid)])?;
        }
        xml.close("Project")?;
        Ok(xml.finish())
    }
}

/// The Coding inside a selection gets a GUID of its own, derived from the selection's.
fn guid_of_coding(selection: &str) -> String {
    uuid::Uuid::new_v5(&VOICES_NAMESPACE, format!("coding:{selection}").as_bytes()).to_string()
}

/// A `.qdpx` file written as it goes: `project.qde`, then `sources/<guid>.txt` (UTF-8), deflated.
/// Each file's sizes follow its data, so the zip needs no going back and can go straight out.
pub struct Qdpx<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    options: SimpleFileOptions,
}

impl<W: Write> Qdpx<W> {
    pub fn new(out: W, created_at: NaiveDateTime) -> Self {
        let stamp = zip::DateTime::from_date_and_time(
            created_at.year().clamp(1980, 2107) as u16,
            created_at.month() as u8,
            created_at.day() as u8,
            created_at.hour() as u8,
            created_at.minute() as u8,
            created_at.second() as u8,
        )
        .unwrap_or_default();
        Qdpx {
            zip: ZipWriter::new_stream(out),
            options: SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .last_modified_time(stamp),
        }
    }

    /// `project.qde`, to be written to the end before the first source.
    pub fn project(
        &mut self,
        head: ProjectHead,
    ) -> Result<ProjectWriter<&mut ZipWriter<StreamWriter<W>>>, RefiError> {
        self.zip.start_file("project.qde", self.options)?;
        ProjectWriter::start(&mut self.zip, head)
    }

    /// A source's text, as `plainTextPath` names it.
    pub fn source(&mut self, source: &TextSource) -> Result<(), RefiError> {
        self.zip
            .start_file(format!("sources/{}.txt", source.guid), self.options)?;
        self.zip.write_all(source.text.as_bytes())?;
        Ok(())
    }

    pub fn finish(self) -> Result<W, RefiError> {
        Ok(self.zip.finish()?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use quick_xml::events::Event;
    use quick_xml::Reader;

    use super::*;

    /// A whole project in memory, written by the writers an export uses.
    #[derive(Debug, Clone)]
    pub struct Project {
        pub name: String,
        pub created_at: NaiveDateTime,
        pub users: Vec<User>,
        pub codes: Vec<Code>,
        pub variables: Vec<Variable>,
        pub cases: Vec<Case>,
        pub sources: Vec<TextSource>,
        pub selections: Vec<Selection>,
        pub notes: Vec<Note>,
    }

    fn head(project: &Project) -> ProjectHead {
        ProjectHead {
            name: project.name.clone(),
            created_at: project.created_at,
            users: project.users.clone(),
            codes: project.codes.clone(),
            variables: project.variables.clone(),
            notes: project.notes.clone(),
        }
    }

    fn fill<W: Write>(mut writer: ProjectWriter<W>, project: &Project) -> Result<W, RefiError> {
        for case in &project.cases {
            writer.case(case)?;
        }
        for source in &project.sources {
            let selections: Vec<Selection> = (project.selections.iter())
                .filter(|s| s.source == source.guid)
                .cloned()
                .collect();
            writer.source(source, &selections)?;
        }
        writer.finish()
    }

    fn project_qde(project: &Project) -> Result<String, RefiError> {
        let written = fill(ProjectWriter::start(Vec::new(), head(project))?, project)?;
        Ok(String::from_utf8(written).unwrap())
    }

    fn write_qdpx(project: &Project) -> Result<Vec<u8>, RefiError> {
        let mut qdpx = Qdpx::new(Vec::new(), project.created_at);
        fill(qdpx.project(head(project))?, project)?;
        for source in &project.sources {
            qdpx.source(source)?;
        }
        qdpx.finish()
    }

    fn at() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap()
    }

    /// A small project with multi-byte text: accents, the euro sign, an emoji, CJK, and markup-like
    /// text that must be escaped.
    pub fn sample() -> Project {
        let g = |kind: &str, id: i64| guid(1, kind, id);
        let texts = [
            "Café meetings at 2 pm cost €12 to reach 😀 and clash with the school run.",
            "病院の会議 <b>&</b> \"quotes\" — then a mentor.\nSecond line 👩‍⚕️ here.",
        ];
        let sources: Vec<TextSource> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| TextSource {
                guid: g("source", i as i64),
                name: format!("P-000{} Q{}", i + 1, i + 3),
                text: (*text).into(),
                description: "Online answer".into(),
                created_at: at(),
            })
            .collect();
        let span = |source: usize, needle: &str| {
            let text = texts[source];
            let byte = text.find(needle).unwrap();
            let start = text[..byte].chars().count();
            (start, start + needle.chars().count())
        };
        let selection = |id: i64, source: usize, needle: &str, code: i64| {
            let (start, end) = span(source, needle);
            Selection {
                guid: g("selection", id),
                source: g("source", source as i64),
                start,
                end,
                code: g("code", code),
                coder: Some(g("user", 1)),
                created_at: at(),
                description: "Valence: barrier".into(),
            }
        };
        Project {
            name: "Involvement <study> & \"co\"".into(),
            created_at: at(),
            users: vec![User {
                guid: g("user", 1),
                name: "Coder 1".into(),
            }],
            codes: vec![
                Code {
                    guid: g("code", 1),
                    parent: None,
                    name: "Social opportunity".into(),
                    colour: Some("#00A499".into()),
                    description: "Others & norms <here>".into(),
                },
                Code {
                    guid: g("code", 2),
                    parent: Some(g("code", 1)),
                    name: "Meetings at times carers cannot make".into(),
                    colour: Some("orange".into()),
                    description: String::new(),
                },
                Code {
                    guid: g("code", 3),
                    parent: None,
                    name: "Being paid — for time".into(),
                    colour: None,
                    description: "Emergent".into(),
                },
            ],
            variables: vec![Variable {
                guid: g("variable", 1),
                name: "Group".into(),
            }],
            cases: vec![Case {
                guid: g("case", 1),
                name: "P-0001".into(),
                values: vec![(g("variable", 1), "Carer".into())],
                sources: vec![g("source", 0)],
            }],
            selections: vec![
                selection(1, 0, "€12 to reach 😀", 2),
                selection(2, 0, "Café", 3),
                selection(3, 1, "病院の会議", 1),
                selection(4, 1, "👩‍⚕️ here", 2),
                selection(5, 1, "<b>&</b> \"quotes\"", 3),
            ],
            sources,
            notes: vec![
                Note {
                    guid: g("note", 1),
                    name: "Memo".into(),
                    text: "Timing again & again".into(),
                    author: Some(g("user", 1)),
                    created_at: at(),
                    on: NoteOn::Code(g("code", 2)),
                },
                Note {
                    guid: g("note", 2),
                    name: "Study memo".into(),
                    text: "Whole project".into(),
                    author: None,
                    created_at: at(),
                    on: NoteOn::Project,
                },
                Note {
                    guid: g("note", 3),
                    name: "Passage memo".into(),
                    text: "Check with the group".into(),
                    author: None,
                    created_at: at(),
                    on: NoteOn::Selection(g("selection", 3)),
                },
            ],
        }
    }

    fn attribute(e: &quick_xml::events::BytesStart, name: &str) -> Option<String> {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.as_ref() == name.as_bytes())
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned()
            })
    }

    #[test]
    fn selections_slice_the_right_characters_from_the_unzipped_sources() {
        let project = sample();
        let bytes = write_qdpx(&project).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut qde = String::new();
        zip.by_name("project.qde")
            .unwrap()
            .read_to_string(&mut qde)
            .unwrap();
        assert!(qde.contains("xmlns=\"urn:QDA-XML:project:1.0\""));

        // Parse the XML back: each selection with its source's file and the code it carries.
        let mut reader = Reader::from_str(&qde);
        let (mut source_path, mut found) = (String::new(), Vec::new());
        let mut current: Option<(usize, usize)> = None;
        let mut name = String::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                    b"Project" => name = attribute(&e, "name").unwrap(),
                    b"TextSource" => source_path = attribute(&e, "plainTextPath").unwrap(),
                    b"PlainTextSelection" => {
                        let pos = |n| attribute(&e, n).unwrap().parse().unwrap();
                        current = Some((pos("startPosition"), pos("endPosition")));
                    }
                    b"CodeRef" => {
                        if let Some((start, end)) = current.take() {
                            found.push((
                                source_path.clone(),
                                start,
                                end,
                                attribute(&e, "targetGUID").unwrap(),
                            ));
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        assert_eq!(name, project.name, "escaped and read back");
        assert_eq!(found.len(), project.selections.len());
        let expected = [
            "€12 to reach 😀",
            "Café",
            "病院の会議",
            "👩‍⚕️ here",
            "<b>&</b> \"quotes\"",
        ];
        for ((path, start, end, code), (want, selection)) in
            found.iter().zip(expected.iter().zip(&project.selections))
        {
            let file = path.replace("internal://", "sources/");
            let mut text = String::new();
            zip.by_name(&file)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            let slice: String = text.chars().skip(*start).take(end - start).collect();
            assert_eq!(&slice, want);
            assert_eq!(code, &selection.code);
        }
    }

    #[test]
    fn codes_nest_under_their_parents_and_bad_colours_are_left_out() {
        let project = sample();
        let qdc = codebook_qdc(&project.codes).unwrap();
        assert!(qdc.contains("<CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\" origin=\"Voices\">"));
        let social = qdc.find("name=\"Social opportunity\"").unwrap();
        let meetings = qdc.find("Meetings at times").unwrap();
        let close = qdc[social..].find("</Code>").unwrap() + social;
        assert!(social < meetings && meetings < close, "{qdc}");
        assert!(qdc.contains("color=\"#00A499\""));
        assert!(!qdc.contains("orange"));
        assert!(qdc.contains("Others &amp; norms &lt;here&gt;"));
        // One code path: the project's codebook is the same elements.
        let qde = project_qde(&project).unwrap();
        assert!(qde.contains("Others &amp; norms &lt;here&gt;"));
    }

    #[test]
    fn guids_are_stable_and_in_the_schema_form() {
        assert_eq!(guid(7, "code", 12), guid(7, "code", 12));
        assert_ne!(guid(7, "code", 12), guid(8, "code", 12));
        assert!(is_guid(&guid(7, "code", 12)));
        assert!(!is_guid("12"));
        assert!(!is_guid("6F1C2D0E8B4A4F5E9A3C1D2E3F4A5B6C"));
    }

    #[test]
    fn broken_references_and_ranges_are_refused() {
        let mut outside = sample();
        outside.selections[0].end = 10_000;
        assert!(project_qde(&outside).unwrap_err().0.contains("outside"));
        let mut unknown = sample();
        unknown.selections[0].code = guid(1, "code", 99);
        assert!(project_qde(&unknown).is_err());
        let mut looped = sample();
        looped.codes[0].parent = Some(looped.codes[1].guid.clone());
        assert!(codebook_qdc(&looped.codes).is_err());
        let mut twice = sample();
        twice.notes[0].guid = twice.codes[0].guid.clone();
        assert!(project_qde(&twice).is_err());
    }

    #[test]
    fn control_characters_cannot_break_the_xml() {
        let mut project = sample();
        project.codes[0].description = "bell \u{7} and nul \u{0}".into();
        let qde = project_qde(&project).unwrap();
        assert!(qde.contains("bell  and nul "));
    }
}
