//! What the team does with the framework matrix: read it by participant or by group against COM-B
//! (or codes) split into barriers and enablers, filtered; read a cell's quotes; write a cell's
//! summary; and read the COM-B × valence × group and code co-occurrence tables.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, CodedRow, Summary};
use super::rules::{self, ColumnsBy, Filters, Passage, RowsBy, Tally, SIDES};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::codebook::queries::lock_codebook;
use crate::analysis::coding::rules::pseudonym;
use crate::analysis::report::queries::quote_consent;
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::distribution::participants::rules::{Group, SystemLevel};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::queries::TaxonomyTerm;
use crate::studies::rules::{SharedCount, View};
use crate::web::CurrentUser;

/// Leads and analysts read the analysis; co-designers too when a lead has said so.
pub async fn readable(db: &Db, user: &CurrentUser, study_id: i64) -> Result<StudyAccess, AppError> {
    let access = StudyAccess::open(db, user, study_id).await?;
    let roles = access.me.roles;
    if roles.lead || roles.analyst || (roles.co_designer && access.study.co_designers_read_analysis)
    {
        Ok(access)
    } else {
        Err(AppError::Forbidden)
    }
}

/// What to show: rows, columns and filters, as a query string names them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[serde(default)]
pub struct MatrixQuery {
    /// participant, group, service or level (default group).
    pub rows: String,
    /// comb (the six COM-B sub-components, default) or codes.
    pub columns: String,
    /// Only responses to this published version (its id; empty for all).
    pub version_id: String,
    /// staff, service_user or carer.
    pub group: String,
    pub service: String,
    /// micro, meso or macro.
    pub level: String,
}

impl MatrixQuery {
    fn rows_by(&self) -> RowsBy {
        RowsBy::parse(&self.rows).unwrap_or(RowsBy::Group)
    }

    fn columns_by(&self) -> ColumnsBy {
        ColumnsBy::parse(&self.columns).unwrap_or(ColumnsBy::Comb)
    }

    fn filters(&self) -> Filters {
        Filters {
            version_id: self.version_id.parse().ok(),
            group: self.group.clone(),
            service: self.service.clone(),
            level: self.level.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Heading {
    pub key: String,
    pub label: String,
}

/// One side of a matrix cell as the reader may see it (`Roles::view`): passages, and the distinct
/// participants they came from; in the shared view a count from 1 to the threshold less one is
/// `{"count": null, "suppressed": true}`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct MatrixCount {
    pub passages: SharedCount,
    pub participants: SharedCount,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatrixCell {
    pub row: String,
    pub column: String,
    pub barrier: MatrixCount,
    pub enabler: MatrixCount,
    /// The team's written summary of the cell.
    pub summary: String,
    /// The cell's codings, barriers first, for its quotes.
    #[serde(skip)]
    codings: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterChoices {
    /// (version id, label)
    pub versions: Vec<Heading>,
    pub groups: Vec<Heading>,
    pub services: Vec<String>,
    pub levels: Vec<Heading>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Matrix {
    pub rows_by: RowsBy,
    pub columns_by: ColumnsBy,
    pub query: MatrixQuery,
    pub rows: Vec<Heading>,
    pub columns: Vec<Heading>,
    /// Row by row, one cell per column.
    pub cells: Vec<Vec<MatrixCell>>,
    /// Coded passages the filters keep.
    pub passages: SharedCount,
    pub choices: FilterChoices,
}

/// The study's coded passages as the matrix counts them, with their versions.
fn passages(rows: &[CodedRow], codebook: &Codebook) -> Vec<(Passage, i64)> {
    let combs = codebook::comb_of_codes(codebook);
    rows.iter()
        .filter_map(|row| {
            let code = codebook::live_code(codebook, row.code_id)?;
            Some((
                Passage {
                    coding_id: row.coding_id,
                    response_id: row.response_id,
                    answer_id: row.answer_id,
                    participant: pseudonym(row.participant_code.as_deref(), row.response_id),
                    group: row.group.clone(),
                    service: row.service.clone(),
                    level: row.level.clone(),
                    code_id: code.id,
                    comb: combs.get(&code.id).cloned().unwrap_or_default(),
                    valence: row.valence.clone(),
                },
                row.version_id,
            ))
        })
        .collect()
}

fn group_label(value: &str) -> String {
    Group::parse(value).map_or_else(|| value.to_string(), |g| g.label().to_string())
}

fn level_label(value: &str) -> String {
    SystemLevel::parse(value).map_or_else(|| value.to_string(), |l| l.label().to_string())
}

fn row_label(by: RowsBy, key: &str) -> String {
    match (by, key) {
        (_, "") => "Not recorded".into(),
        (RowsBy::Group, key) => group_label(key),
        (RowsBy::Level, key) => level_label(key),
        (_, key) => key.into(),
    }
}

fn comb_terms(taxonomy: &[TaxonomyTerm]) -> Vec<Heading> {
    taxonomy
        .iter()
        .filter(|t| t.scheme == "comb")
        .map(|t| Heading {
            key: t.code.clone(),
            label: t.label.clone(),
        })
        .collect()
}

struct Loaded {
    access: StudyAccess,
    codebook: Codebook,
    rows: Vec<CodedRow>,
    summaries: Vec<Summary>,
    versions: Vec<(i64, i32, String)>,
}

async fn load(db: &Db, user: &CurrentUser, study_id: i64) -> Result<Loaded, AppError> {
    let access = readable(db, user, study_id).await?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    let (rows, summaries, versions) = db
        .read(move |conn| {
            let rows = queries::coded_rows(conn, study_id, None)?;
            let ids: Vec<i64> = rows
                .iter()
                .map(|r| r.version_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let versions = queries::versions(conn, &ids)?;
            Ok::<_, AppError>((rows, queries::summaries(conn, study_id)?, versions))
        })
        .await?;
    Ok(Loaded {
        access,
        codebook,
        rows,
        summaries,
        versions,
    })
}

fn choices(all: &[(Passage, i64)], versions: &[(i64, i32, String)]) -> FilterChoices {
    let distinct = |f: fn(&Passage) -> &str| -> Vec<String> {
        all.iter()
            .map(|(p, _)| f(p).to_string())
            .filter(|v| !v.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    FilterChoices {
        versions: versions
            .iter()
            .map(|(id, number, title)| Heading {
                key: id.to_string(),
                label: format!("{title}, version {number}"),
            })
            .collect(),
        groups: Group::ALL
            .iter()
            .map(|g| Heading {
                key: g.as_str().into(),
                label: g.label().into(),
            })
            .collect(),
        services: distinct(|p| &p.service),
        levels: SystemLevel::ALL
            .iter()
            .map(|l| Heading {
                key: l.as_str().into(),
                label: l.label().into(),
            })
            .collect(),
    }
}

/// The framework matrix.
pub async fn matrix(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    query: MatrixQuery,
) -> Result<(StudyAccess, Matrix), AppError> {
    let loaded = load(db, user, study_id).await?;
    let matrix = build(&loaded, query)?;
    Ok((loaded.access, matrix))
}

/// The answer to a shared viewer who asks for rows per participant.
fn no_participant_rows() -> AppError {
    AppError::invalid(
        "rows",
        "Rows for single participants are for the study's leads: choose groups, services or levels",
    )
}

fn build(loaded: &Loaded, query: MatrixQuery) -> Result<Matrix, AppError> {
    let (rows_by, columns_by, filters) = (query.rows_by(), query.columns_by(), query.filters());
    let view = loaded.access.view();
    if view.is_shared() && rows_by == RowsBy::Participant {
        return Err(no_participant_rows());
    }
    let all = passages(&loaded.rows, &loaded.codebook);
    let kept: Vec<Passage> = all
        .iter()
        .filter(|(p, version)| filters.keeps(p, *version))
        .map(|(p, _)| p.clone())
        .collect();
    let counts = rules::count(&kept, rows_by, columns_by);
    let columns = match columns_by {
        ColumnsBy::Comb => comb_terms(&loaded.codebook.taxonomy),
        ColumnsBy::Codes => {
            let used: BTreeSet<i64> = kept.iter().map(|p| p.code_id).collect();
            loaded
                .codebook
                .codes
                .iter()
                .filter(|p| used.contains(&p.code.id))
                .map(|p| Heading {
                    key: p.code.id.to_string(),
                    label: p.code.name.clone(),
                })
                .collect()
        }
    };
    let mut row_keys: Vec<String> = kept
        .iter()
        .map(|p| p.row(rows_by))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if rows_by == RowsBy::Group {
        let order = |k: &String| Group::ALL.iter().position(|g| g.as_str() == k);
        row_keys.sort_by_key(|k| order(k).unwrap_or(usize::MAX));
    }
    let summary_key = |row: &str, column: &str| {
        (
            format!("{}:{row}", rows_by.as_str()),
            format!("{}:{column}", columns_by.as_str()),
        )
    };
    let written: HashMap<(String, String), String> = loaded
        .summaries
        .iter()
        .map(|s| ((s.row_key.clone(), s.column_key.clone()), s.body.clone()))
        .collect();
    let tally = |row: &String, column: &Heading, side: &'static str| {
        counts
            .cells
            .get(&(row.clone(), column.key.clone(), side))
            .cloned()
            .unwrap_or_default()
    };
    let passages_shown = passages_shown(view, &row_keys, &columns, |row, column, side| {
        tally(row, column, side).passages
    });
    let cells = row_keys
        .iter()
        .enumerate()
        .map(|(r, row)| {
            columns
                .iter()
                .enumerate()
                .map(|(c, column)| {
                    let (barrier, enabler) =
                        (tally(row, column, SIDES[0]), tally(row, column, SIDES[1]));
                    let count = |tally: &Tally, side: usize| MatrixCount {
                        passages: passages_shown[side][r][c],
                        participants: view.count(tally.participants as i64),
                    };
                    MatrixCell {
                        row: row.clone(),
                        column: column.key.clone(),
                        barrier: count(&barrier, 0),
                        enabler: count(&enabler, 1),
                        summary: written
                            .get(&summary_key(row, &column.key))
                            .cloned()
                            .unwrap_or_default(),
                        codings: barrier.codings.into_iter().chain(enabler.codings).collect(),
                    }
                })
                .collect()
        })
        .collect();
    Ok(Matrix {
        rows_by,
        columns_by,
        rows: row_keys
            .iter()
            .map(|k| Heading {
                key: k.clone(),
                label: row_label(rows_by, k),
            })
            .collect(),
        columns,
        cells,
        passages: view.count(kept.len() as i64),
        choices: choices(&all, &loaded.versions),
        query,
    })
}

/// A quote in a cell: the passage, who said it (pseudonymised) and where it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quote {
    pub coding_id: i64,
    pub response_id: i64,
    pub question_id: i64,
    /// The participant's code; empty in the shared view, which names groups only.
    pub participant: String,
    pub group: String,
    pub valence: String,
    /// answer or notes.
    pub field: String,
    pub quote: String,
    /// A lead approved it for shared reports.
    pub approved: bool,
    /// The participant agreed to be quoted.
    pub consented: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellDetail {
    pub row: Heading,
    pub column: Heading,
    pub quotes: Vec<Quote>,
    pub summary: String,
}

/// One cell of the matrix: its quotes (barriers first) and its summary. In the shared view, only
/// quotes a lead approved for sharing (which needs the participant's agreement), by group only.
pub async fn cell(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    query: MatrixQuery,
    row: String,
    column: String,
) -> Result<(StudyAccess, CellDetail), AppError> {
    let loaded = load(db, user, study_id).await?;
    let shared = loaded.access.view().is_shared();
    let matrix = build(&loaded, query)?;
    let (Some(r), Some(c)) = (
        matrix.rows.iter().position(|h| h.key == row),
        matrix.columns.iter().position(|h| h.key == column),
    ) else {
        return Err(AppError::NotFound);
    };
    let found = &matrix.cells[r][c];
    let rows = &loaded.rows;
    let consent = db
        .read(move |conn| quote_consent(conn, study_id).map_err(AppError::from))
        .await?;
    let mut quotes: Vec<Quote> = Vec::new();
    for &id in &found.codings {
        if quotes.iter().any(|q| q.coding_id == id) {
            continue;
        }
        let Some(row) = rows.iter().find(|r| r.coding_id == id) else {
            continue;
        };
        let consented = consent.get(&row.response_id) == Some(&true);
        let approved = row.quote_approved_at.is_some() && consented;
        if shared && !approved {
            continue;
        }
        quotes.push(Quote {
            coding_id: id,
            response_id: row.response_id,
            question_id: row.question_id,
            participant: if shared {
                String::new()
            } else {
                pseudonym(row.participant_code.as_deref(), row.response_id)
            },
            group: row.group.clone(),
            valence: row.valence.clone(),
            field: row.field.clone(),
            quote: row.quote.clone(),
            approved: row.quote_approved_at.is_some(),
            consented,
        });
    }
    let detail = CellDetail {
        row: matrix.rows[r].clone(),
        column: matrix.columns[c].clone(),
        summary: found.summary.clone(),
        quotes,
    };
    Ok((loaded.access, detail))
}

/// A summary as written for one cell.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SummaryChange {
    /// participant, group, service or level.
    pub rows: String,
    /// comb or codes.
    pub columns: String,
    pub row: String,
    pub column: String,
    /// Up to 5,000 characters; empty removes the summary.
    pub summary: String,
}

pub const SUMMARY_LIMIT: usize = 5_000;

/// Writes a cell's summary (leads and analysts).
pub async fn summarise(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    change: SummaryChange,
) -> Result<(), AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (Some(rows), Some(columns)) = (
        RowsBy::parse(&change.rows),
        ColumnsBy::parse(&change.columns),
    ) else {
        return Err(AppError::invalid(
            "rows",
            &format!(
                "Rows are by {}; columns by {}",
                RowsBy::choices(),
                ColumnsBy::choices()
            ),
        ));
    };
    let body = change.summary.trim().to_string();
    if body.chars().count() > SUMMARY_LIMIT {
        return Err(AppError::invalid(
            "summary",
            "Keep the summary to 5,000 characters or fewer",
        ));
    }
    if change.row.is_empty() || change.column.is_empty() {
        return Err(AppError::invalid("row", "Name the cell's row and column"));
    }
    let row_key = format!("{}:{}", rows.as_str(), change.row);
    let column_key = format!("{}:{}", columns.as_str(), change.column);
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        lock_codebook(conn, study_id)?;
        queries::save_summary(conn, study_id, &row_key, &column_key, &body, user_id)?;
        audit::record(
            conn,
            &origin,
            "matrix.summary_saved",
            "study",
            Some(study_id),
            json!({ "row": row_key, "column": column_key, "removed": body.is_empty() }),
        )
        .map_err(AppError::from)
    })
    .await
}

/// One line of the COM-B × valence × group table: participants (and passages) per group and side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombLine {
    pub comb: Heading,
    /// Per group, in the order of `groups`: [barrier, enabler].
    pub counts: Vec<[MatrixCount; 2]>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombTable {
    pub groups: Vec<Heading>,
    pub lines: Vec<CombLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoOccurrence {
    pub codes: Vec<Heading>,
    /// counts[i][j]: answers coded with both codes i and j (the diagonal: answers coded with i).
    pub counts: Vec<Vec<SharedCount>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tables {
    pub comb: CombTable,
    pub co_occurrence: CoOccurrence,
    pub query: MatrixQuery,
}

/// Each side's passages as the reader may see them, by [side][row][column]. They add up along rows
/// and columns (and towards the total shown), so each side is shown as one table: a small count is
/// hidden with whatever would give it away (`View::table`).
fn passages_shown<R, C>(
    view: View,
    rows: &[R],
    columns: &[C],
    passages: impl Fn(&R, &C, &'static str) -> usize,
) -> Vec<Vec<Vec<SharedCount>>> {
    SIDES
        .iter()
        .map(|&side| {
            let table: Vec<Vec<i64>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .map(|c| passages(row, c, side) as i64)
                        .collect()
                })
                .collect();
            view.table(&table)
        })
        .collect()
}

/// The tables beside the matrix, under the same filters.
pub async fn tables(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    query: MatrixQuery,
) -> Result<(StudyAccess, Tables), AppError> {
    let loaded = load(db, user, study_id).await?;
    let view = loaded.access.view();
    let filters = query.filters();
    let kept: Vec<Passage> = passages(&loaded.rows, &loaded.codebook)
        .into_iter()
        .filter(|(p, version)| filters.keeps(p, *version))
        .map(|(p, _)| p)
        .collect();
    let counts = rules::count(&kept, RowsBy::Group, ColumnsBy::Comb);
    let groups: Vec<Heading> = Group::ALL
        .iter()
        .map(|g| Heading {
            key: g.as_str().into(),
            label: g.label().into(),
        })
        .collect();
    let combs = comb_terms(&loaded.codebook.taxonomy);
    let tally = |group: &Heading, comb: &Heading, side: &'static str| {
        counts
            .cells
            .get(&(group.key.clone(), comb.key.clone(), side))
            .cloned()
            .unwrap_or_default()
    };
    let passages_shown = passages_shown(view, &combs, &groups, |comb, group, side| {
        tally(group, comb, side).passages
    });
    let lines = combs
        .into_iter()
        .enumerate()
        .map(|(r, comb)| CombLine {
            counts: groups
                .iter()
                .enumerate()
                .map(|(c, g)| {
                    [0, 1].map(|side| MatrixCount {
                        passages: passages_shown[side][r][c],
                        participants: view.count(tally(g, &comb, SIDES[side]).participants as i64),
                    })
                })
                .collect(),
            comb,
        })
        .collect();
    let pairs = rules::co_occurrence(&kept);
    let mut coded: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for p in &kept {
        coded.entry(p.code_id).or_default().insert(p.answer_id);
    }
    let codes: Vec<Heading> = loaded
        .codebook
        .codes
        .iter()
        .filter(|p| coded.contains_key(&p.code.id))
        .map(|p| Heading {
            key: p.code.id.to_string(),
            label: p.code.name.clone(),
        })
        .collect();
    let ids: Vec<i64> = codes.iter().filter_map(|c| c.key.parse().ok()).collect();
    let counts = ids
        .iter()
        .map(|&a| {
            ids.iter()
                .map(|&b| {
                    let n = match a.cmp(&b) {
                        std::cmp::Ordering::Equal => coded[&a].len(),
                        std::cmp::Ordering::Less => pairs.get(&(a, b)).copied().unwrap_or(0),
                        std::cmp::Ordering::Greater => pairs.get(&(b, a)).copied().unwrap_or(0),
                    };
                    view.count(n as i64)
                })
                .collect()
        })
        .collect();
    let tables = Tables {
        comb: CombTable { groups, lines },
        co_occurrence: CoOccurrence { codes, counts },
        query,
    };
    Ok((loaded.access, tables))
}
