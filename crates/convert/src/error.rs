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
}
