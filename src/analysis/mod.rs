//! Analysis: the codebook analysts code answers and interview notes with (COM-B, TDF and emergent
//! codes), and inter-coder agreement.

pub mod agreement;
pub mod charts;
pub mod codebook;
