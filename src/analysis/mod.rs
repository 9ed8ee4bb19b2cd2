//! Analysis: the codebook analysts code answers and interview notes with (COM-B, TDF and emergent
//! codes), coding, memos and belief statements, the framework matrix, double coding and inter-coder
//! agreement, closed-question counts, charts, the involvement tracker, and the exports other tools
//! read (CSV, JSON, REFI-QDA).

pub mod agreement;
pub mod beliefs;
pub mod charts;
pub mod closed;
pub mod codebook;
pub mod coding;
pub mod exports;
pub mod matrix;
pub mod memos;
pub mod report;
pub mod rounds;
pub mod tracker;
