"""The asset library: validated audio and video files that batches are made of."""
