//! Record batches encoded for a target server.
//!
//! [`load_data`] is what the data plane writes with (the measured winner); [`insert`] makes
//! multi-row `INSERT` statements from the same value texts, for targets without
//! `local_infile` and for the measurement itself. Both share the `values` module, one definition of how
//! each column's values are written exactly.

pub mod binary_row;
pub mod insert;
pub mod load_data;
pub(crate) mod values;
