"""A small guard of bench/visemes.py's word rows: an English and a Mandarin audio whose words
come from the transcription server (the stand-in answers as Whisper writes: Han characters
for Mandarin) close the rendered lips on b/m/p as a script's phones do, measured with
MediaPipe on the output (`viseme_measure`). The bench's targets: closures >= 90 %."""

from __future__ import annotations

import pytest
from tests.lipsync.mouth_measure import decode_frames, face_landmarks  # noqa: E402
from tests.lipsync.viseme_measure import (  # noqa: E402
    CaseSpec,
    measure_output,
    synthesize_case,
    write_case_wav,
)
from tests.render.word_sources import WordSources  # noqa: E402

from lipforge.lipsync.pipeline import RenderRequest, render  # noqa: E402
from lipforge.media.audio import analyse_audio  # noqa: E402

FPS = 25.0
FACE = (480, 852)
CASES = (
    CaseSpec("ci-en", "en-us", ("Bob met my mom by the big boat.",), 0.6),
    CaseSpec("ci-zh", "cmn-latn-pinyin", ("ma1 ma5 mai3 le5 mian4 bao1.",), 0.6, "zh"),
)


@pytest.mark.parametrize("spec", CASES, ids=[c.name for c in CASES])
def test_with_a_transcription_server_the_lips_close_on_b_m_p(spec, tmp_path, make_talking_head):
    case = synthesize_case(spec)
    audio = write_case_wav(case, tmp_path / "speech.wav")
    head = make_talking_head(tmp_path / "head.mp4", case.duration_s + 0.4, FACE)
    with WordSources(tmp_path) as words:
        timing = words.timing(spec.parts, audio, case.duration_s, "server")
    assert words.hearing.requests, "the stand-in was asked"
    out = render(RenderRequest(audio, head, tmp_path / "out.mp4", timing=timing))
    outputs = decode_frames(out.output_path)
    inputs = face_landmarks(decode_frames(head)[: len(outputs)])
    loudness = analyse_audio(audio, FPS, len(outputs)).loudness
    measured = measure_output(case, face_landmarks(outputs), inputs, loudness)
    # measured: closures 100 % (en, of 9) and 100 % (zh, of 5); a margin for MediaPipe's jitter
    assert measured.closures >= 0.85, measured.line() + f" open on {measured.missed}"
