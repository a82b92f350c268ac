"""The built-in ear: mouth classes heard in the audio alone, by a small ONNX frame classifier.

With no script, no transcript and no transcription server, `hear_phones(samples)` turns
16 kHz speech into phone-like events, one per stretch of a mouth class (`model.CLASSES`: lips
shut on p/b/m, lower lip tucked on f/v, rounded, spread, open, neutral; rest is a gap between
events). Each event carries a representative IPA symbol (`model.CLASS_SYMBOLS`), so the lip-sync
room reads it through the same viseme table as a script's phones. The model (`ear.onnx`, trained
by `scripts/train_ear.py` on libespeak-ng speech whose phone timings are known) ships in the
package: nothing is downloaded. It knows nothing of faces, frames or how shapes are drawn.
"""

from lipforge.lipsync.ear.events import hear_phones
from lipforge.lipsync.ear.model import CLASS_SYMBOLS, CLASSES, class_posteriors

__all__ = ["CLASSES", "CLASS_SYMBOLS", "class_posteriors", "hear_phones"]
