//! Errors of the conversion between MySQL values and Arrow.

/// A value or schema that cannot be converted exactly. Nothing is ever converted approximately
/// instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// An Arrow field whose metadata does not describe a MySQL column.
    #[error("column `{column}`: its Arrow field does not describe a MySQL column ({why})")]
    BadField {
        /// The field's name.
        column: String,
        /// What is wrong.
        why: String,
    },
    /// A result set whose columns are not the ones the schema expects.
    #[error(
        "column `{column}`: {detail}; did the table change while reshard ran? start again so that its schema is read anew"
    )]
    WireMismatch {
        /// The column's name.
        column: String,
        /// What differs.
        detail: String,
    },
    /// A value that cannot be decoded exactly.
    #[error(
        "column `{column}`: cannot decode the value: {detail}; nothing is copied rather than something changed: check that column's values on the source"
    )]
    Decode {
        /// The column's name.
        column: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A value that cannot be encoded exactly for the target.
    #[error(
        "column `{column}`: cannot encode the value: {detail}; the target cannot hold it exactly, so this batch is not written"
    )]
    Encode {
        /// The column's name.
        column: String,
        /// What is wrong with it.
        detail: String,
    },
}
