"""meshwarp, the default engine: moves the face mesh's lips and jaw to the phonemes' shapes."""
