//! Black-box tests of the classifier crate through its public API: golden
//! fixtures, hard cases, hostile input, the JSON-lines contract, training
//! and model loading, and the encoder backend.
//!
//! One test binary, one file per area (see STYLE §9).

#[cfg(feature = "encoder")]
mod encoder;
mod golden;
mod helpers;
mod jsonl;
mod robustness;
mod training;
