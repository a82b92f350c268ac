"""Model weights: the registry (manifest) and the segmented, resumable downloader."""
