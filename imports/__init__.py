"""The import use case: Markdown in, a Confluence page out, and the audit log of every import."""
