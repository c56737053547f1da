//! Validation errors that name the offending field.

use std::fmt;

/// One problem with one field. `field` is a path like `title.ro` or `values[2].actual`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found while validating one value; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Adds the errors of a nested value with `prefix` in front of their field paths.
    pub fn extend_nested(&mut self, prefix: &str, nested: ValidationErrors) {
        for e in nested.0 {
            let field = if e.field.is_empty() {
                prefix.to_string()
            } else if e.field.starts_with('[') {
                format!("{prefix}{}", e.field)
            } else {
                format!("{prefix}.{}", e.field)
            };
            self.0.push(FieldError {
                field,
                message: e.message,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Anything that can check itself beyond what parsing already guarantees.
pub trait Validate {
    fn validate(&self) -> Result<(), ValidationErrors>;
}
