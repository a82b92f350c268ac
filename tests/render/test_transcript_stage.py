"""The words of an audio before its render: a user's transcript wins, else a transcription
server's (the stand-in of tests/speech/transcribe_standin.py), cut in pieces, cached by the
audio's sha256 across restarts, aligned phone by phone; a failed server costs only shapes."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest
from tests.speech.transcribe_standin import Hearing, serve
from tests.support import media_factory as factory
from tests.support.jobs_factory import add_batch, add_placeholder_asset

from lipforge.assets.library import ingest_file, set_transcript
from lipforge.config import Settings
from lipforge.events import events_since
from lipforge.jobs import queue
from lipforge.jobs.joblog import read_job_log
from lipforge.jobs.worker import Worker, WorkerTuning
from lipforge.lipsync.phonesource import find_phones
from lipforge.media.audio import SAMPLE_RATE, iter_audio, load_audio
from lipforge.render.runner import RenderRunner
from lipforge.render.transcript_stage import PIECE_MAX_S, audio_pieces, timing_for_audio
from lipforge.speech.transcription import TranscriptionError

FAST = WorkerTuning(heartbeat_interval_s=0.5, lease_s=5.0, idle_poll_s=0.05)

BILABIAL_TEXT = "Bob met my mom by the big blue boat."


@pytest.fixture(scope="module")
def bilabial_wav(tmp_path_factory) -> object:
    path = tmp_path_factory.mktemp("speech") / "bob.wav"
    return factory.make_speech(path, BILABIAL_TEXT, "en-us")


def audio_asset(sessions, settings, wav, name="bob.wav"):
    copy = settings.data_dir.root / name
    shutil.copy(wav, copy)
    return ingest_file(copy, name, "upload", sessions, settings)


def with_server(settings: Settings, url: str, **extra) -> Settings:
    return settings.with_overrides(transcribe_url=url + "/v1", speech_attempts=1, **extra)


def never(error):
    raise AssertionError(f"no skip expected: {error}")


def test_the_server_words_are_aligned_and_close_the_lips(settings, sessions, bilabial_wav):
    asset = audio_asset(sessions, settings, bilabial_wav)
    hearing = Hearing(texts=[BILABIAL_TEXT])
    with serve("speaches", hearing) as standin:
        timing = timing_for_audio(with_server(settings, standin.url), asset, bilabial_wav, never)
    assert [s.text for s in timing.sentences] == [BILABIAL_TEXT]
    phones, source = find_phones(load_audio(bilabial_wav), timing)
    assert source == "aligned"
    closures = [p for p in phones if p.symbol in ("b", "m", "p")]
    assert len(closures) >= 8  # Bob met my mom by the big blue boat: b b m m m m b b b b


def test_an_audio_is_transcribed_once_even_across_restarts(settings, sessions, bilabial_wav):
    asset = audio_asset(sessions, settings, bilabial_wav)
    hearing = Hearing(texts=[BILABIAL_TEXT])
    with serve("openai", hearing) as standin:
        first = timing_for_audio(with_server(settings, standin.url), asset, bilabial_wav, never)
        url = standin.url
    restarted = with_server(Settings(data=settings.data), url)  # the server is gone now
    again = timing_for_audio(restarted, asset, bilabial_wav, never)
    assert len(hearing.requests) == 1 and again == first


def test_the_users_transcript_wins_over_the_server(settings, sessions, bilabial_wav):
    asset = audio_asset(sessions, settings, bilabial_wav)
    asset = set_transcript(sessions, asset.id, "Maybe Paul will bring the papers.")
    hearing = Hearing(texts=["something else entirely"])
    with serve("openai", hearing) as standin:
        timing = timing_for_audio(with_server(settings, standin.url), asset, bilabial_wav, never)
    assert hearing.requests == []
    assert [s.text for s in timing.sentences] == ["Maybe Paul will bring the papers."]


@pytest.mark.parametrize("hearing", [Hearing(status=503), Hearing(body=b'{"segments": []}')])
def test_a_failing_server_costs_only_the_shapes(settings, sessions, bilabial_wav, hearing):
    asset = audio_asset(sessions, settings, bilabial_wav)
    skipped = []
    with serve("whispercpp", hearing) as standin:
        timing = timing_for_audio(
            with_server(settings, standin.url), asset, bilabial_wav, skipped.append
        )
    assert timing is None
    (error,) = skipped
    assert isinstance(error, TranscriptionError) and standin.url in str(error)


def test_no_server_and_no_transcript_leaves_the_audio_alone(settings, sessions, bilabial_wav):
    asset = audio_asset(sessions, settings, bilabial_wav)
    assert timing_for_audio(settings, asset, bilabial_wav, never) is None


def long_wav(path, seconds: float = 150.0):
    """Speech and pauses for about `seconds` (150: three pieces)."""
    samples, rate = factory.speech_samples(BILABIAL_TEXT, "en-us")
    pause = np.zeros(int(rate * 1.3), np.float32)
    one = np.concatenate([samples.astype(np.float32), pause])
    repeats = int(seconds / (len(one) / rate)) + 1
    return factory.write_audio(path, np.tile(one, repeats), rate)


def test_long_audio_goes_in_pieces_cut_in_its_pauses(settings, sessions, tmp_path):
    wav = long_wav(tmp_path / "long.wav")
    audio = load_audio(wav)
    streamed = list(audio_pieces(iter_audio(wav)))  # read as decoded, not all at once
    assert np.array_equal(np.concatenate([piece for _start, piece in streamed]), audio)
    pieces = [(start, start + len(piece)) for start, piece in streamed]
    assert len(pieces) == 3 and pieces[0][0] == 0 and pieces[-1][1] == len(audio)
    for start, end in pieces:
        assert end - start <= PIECE_MAX_S * SAMPLE_RATE
        cut = audio[max(0, end - 800) : end + 800]
        assert end == len(audio) or np.abs(cut).max() < 1e-3  # cut inside a pause
    asset = audio_asset(sessions, settings, wav, "long.wav")
    hearing = Hearing(texts=["one", "two", "three"])
    with serve("openai", hearing) as standin:
        timing = timing_for_audio(with_server(settings, standin.url), asset, wav, never)
    assert [s.text for s in timing.sentences] == ["one", "two", "three"]
    bounds = [
        (round(s.start_s * SAMPLE_RATE), round(s.end_s * SAMPLE_RATE)) for s in timing.sentences
    ]
    assert bounds == pieces


# --- in the worker: the pipeline gets the words; a failed server is said in log and events ---


def run_jobs(settings, sessions, batch_id):
    """Run the worker until the batch's jobs end; the timing each job's render was given."""
    given = {}

    def render(context, on_progress, should_cancel):
        given[context.job.id] = context.words
        on_progress(1, 1)
        context.output_path.write_bytes(b"rendered")

    worker = Worker(settings, sessions, run_job=RenderRunner(render), tuning=FAST)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        job.status in ("succeeded", "failed", "cancelled") for job in jobs_of(sessions, batch_id)
    ):
        time.sleep(0.05)
    stop.set()
    thread.join(30)
    return given, jobs_of(sessions, batch_id)


def jobs_of(sessions, batch_id):
    with sessions() as session:
        return queue.list_batch_jobs(session, batch_id)


def test_a_job_renders_with_the_servers_words(settings, sessions, bilabial_wav):
    audio = audio_asset(sessions, settings, bilabial_wav)
    video = add_placeholder_asset(sessions, settings, "video", "face.mp4")
    batch_id, (job_id,) = add_batch(sessions, 1, audio_id=audio.id, video_ids=[video])
    with serve("speaches", Hearing(texts=[BILABIAL_TEXT])) as standin:
        given, (job,) = run_jobs(with_server(settings, standin.url), sessions, batch_id)
    assert job.status == "succeeded"
    assert [s.text for s in given[job_id].sentences] == [BILABIAL_TEXT]
    log = read_job_log(settings.data_dir.logs, job_id)
    assert any("words: the transcription server" in line for line in log)


def test_a_down_server_is_one_log_line_and_a_notice_and_the_job_still_renders(
    settings, sessions, bilabial_wav
):
    audio = audio_asset(sessions, settings, bilabial_wav)
    video = add_placeholder_asset(sessions, settings, "video", "face.mp4")
    batch_id, (job_id,) = add_batch(sessions, 1, audio_id=audio.id, video_ids=[video])
    with serve("openai", Hearing(status=500)) as standin:
        given, (job,) = run_jobs(with_server(settings, standin.url), sessions, batch_id)
    assert job.status == "succeeded" and given[job_id] is None
    log = read_job_log(settings.data_dir.logs, job_id)
    skipped = [line for line in log if "transcription skipped" in line]
    assert len(skipped) == 1 and "answered 500: stand-in openai says 500" in skipped[0]
    notices = [e for e in events_since(sessions, 0) if e.kind == "job.notice"]
    assert [n.payload["notice"]["error"] for n in notices] == ["transcription_failed"]
    assert notices[0].payload["notice"]["params"]["status"] == 500


def test_a_job_cancelled_while_its_audio_is_transcribed_stops_between_pieces(
    settings, sessions, tmp_path
):
    wav = long_wav(tmp_path / "long.wav")
    audio = audio_asset(sessions, settings, wav, "long.wav")
    video = add_placeholder_asset(sessions, settings, "video", "face.mp4")
    batch_id, (job_id,) = add_batch(sessions, 1, audio_id=audio.id, video_ids=[video])
    hearing = Hearing(texts=["one", "two", "three"], delay_s=1.5)

    def cancel_when_asked():
        deadline = time.monotonic() + 60
        while not hearing.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        with sessions.begin() as session:
            queue.cancel_job(session, job_id)

    with serve("openai", hearing) as standin:
        canceller = threading.Thread(target=cancel_when_asked, daemon=True)
        canceller.start()
        given, (job,) = run_jobs(with_server(settings, standin.url), sessions, batch_id)
        canceller.join(10)
    assert job.status == "cancelled" and job_id not in given
    assert len(hearing.requests) < 3
