//! How a node error reads on the terminal.

use punte_node::NodeError;

/// Spells out validation errors field by field.
pub(crate) fn explain(error: NodeError) -> anyhow::Error {
    match error {
        NodeError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect();
            anyhow::anyhow!("the input is invalid:\n{}", lines.join("\n"))
        }
        other => other.into(),
    }
}
