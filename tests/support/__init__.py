"""Helpers the test folders share (and bench/ reuses): media, servers, databases, waiting."""
