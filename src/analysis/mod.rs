//! Analysis: the codebook analysts code answers and interview notes with (COM-B, TDF and emergent
//! codes), inter-coder agreement, closed-question counts, and the exports other tools read (CSV, JSON, REFI-QDA).

pub mod agreement;
pub mod closed;
pub mod codebook;
pub mod exports;
