//! Bounds on what the codec accepts, so one request cannot take unbounded
//! memory or stack.

/// Limits applied by the decoder (and, for depth, size and node count, by
/// the encoder). Each exceeded limit is its own [`crate::WbxmlError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes, header included.
    pub max_document_bytes: usize,
    /// Deepest element nesting; the root element is depth 1.
    pub max_depth: usize,
    /// Most nodes (elements, text and opaque nodes together).
    pub max_nodes: usize,
    /// Longest inline string, in bytes, without its terminating NUL.
    pub max_string_bytes: usize,
    /// Longest opaque block, in bytes.
    pub max_opaque_bytes: usize,
}

impl Limits {
    /// Defaults sized for EAS traffic: a SendMail or a Sync with attachments
    /// fits, a hostile document does not get far. EAS documents nest about
    /// ten levels; 64 leaves room without risking the stack.
    pub const DEFAULT: Limits = Limits {
        max_document_bytes: 64 * 1024 * 1024,
        max_depth: 64,
        max_nodes: 1_000_000,
        max_string_bytes: 32 * 1024 * 1024,
        max_opaque_bytes: 64 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
