//! Record batches encoded for a target server.
//!
//! [`load_data`] is what the data plane writes with (chosen by measurement); [`insert`] makes
//! multi-row `INSERT` statements from the same value texts: the measurement's alternative, and
//! the way in for a later fallback on targets without `local_infile` (not wired yet);
//! [`delete`] makes `DELETE`s by primary key and [`insert`] `REPLACE`s, for the change applier;
//! [`binary_row`] makes the server's binary result rows, as fixtures for tests and benchmarks. Both share the `values` module, one definition of how
//! each column's values are written exactly.

pub mod binary_row;
pub mod delete;
pub mod describe;
pub mod insert;
pub mod load_data;
pub(crate) mod values;
