"""Fixtures for the render stages: the transcription stand-in lives beside the speech tests,
the job factory beside the queue's."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "speech"))
sys.path.insert(0, str(Path(__file__).parents[1] / "jobs"))
