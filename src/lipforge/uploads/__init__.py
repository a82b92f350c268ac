"""tus 1.0 resumable uploads: the protocol router and the file store."""
