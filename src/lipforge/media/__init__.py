"""Media: probe and validate, streaming decode/encode with PyAV, audio features."""
