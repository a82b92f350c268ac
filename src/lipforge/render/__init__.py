"""The render: batch planning (a job per output), scripts, the speech stage run before lip-sync."""
