"""What Wav2Lip hears for one video frame: the (80, 16) window of the log-mel spectrogram.

Wav2Lip was trained on 16 mel steps (200 ms at 80 steps per second) starting at the
frame's own time, `int(i * 80 / fps)`; past the end of the audio the window is padded
with silence. The spectrogram itself (Wav2Lip's recipe, which meshwarp's spectrum
features and the phone aligner read too) is computed once per render in
`media/audio.py`; this module only cuts it per frame.
"""

from __future__ import annotations

import numpy as np

from lipforge.media.audio import MAX_ABS_VALUE, MEL_STEPS_PER_S

MEL_WINDOW_STEPS = 16  # 200 ms at 80 mel steps per second


def mel_window(mel: np.ndarray, frame_index: int, fps: float) -> np.ndarray:
    """The (80, 16) mel steps for video frame `frame_index`, starting at int(i * 80 / fps).

    Past the end of the audio the window is padded with silence (-4).
    """
    start = int(frame_index * MEL_STEPS_PER_S / fps)
    window = mel[:, start : start + MEL_WINDOW_STEPS]
    if window.shape[1] < MEL_WINDOW_STEPS:
        pad = MEL_WINDOW_STEPS - window.shape[1]
        window = np.pad(window, ((0, 0), (0, pad)), constant_values=-MAX_ABS_VALUE)
    return window
