//! Analysis: the codebook analysts code answers and interview notes with (COM-B, TDF and emergent
//! codes), inter-coder agreement, charts, and the involvement tracker.

pub mod agreement;
pub mod charts;
pub mod codebook;
pub mod coding;
pub mod matrix;
pub mod rounds;
pub mod tracker;
