"""The render job runner: what the worker does with a claimed render job.

`RenderRunner(render=...)` is the `JobRunner` that `lipforge worker` and `lipforge serve`
hand to `Worker(run_job=...)`. It reads the job's `RenderSpec`, speaks a scripted job's
text first (`render/speech_stage.py`), holds the audio and video assets as local files
through the worker's input cache, and calls `render` with a `RenderContext`; the default
`render_with_pipeline` is the lip-sync pipeline (tests hand in a runner of their own).
It answers the output's file name; publishing it is the worker's. No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from lipforge.config import Settings
from lipforge.jobs.queue import ClaimedJob
from lipforge.jobs.worker import CancelCheck, JobWork, ProgressCallback
from lipforge.media.timing import SpeechTiming
from lipforge.render.spec import DEFAULT_ENGINE, RenderSpec


@dataclass(frozen=True)
class RenderContext:
    """What a render needs: the job and its spec, its input files and where to write."""

    job: ClaimedJob
    spec: RenderSpec
    audio_path: Path
    video_path: Path
    output_path: Path  # the partial path for this attempt; the worker moves it into outputs/
    settings: Settings
    log: Callable[[str], None] = field(repr=False)
    in_user_terms: Callable[[str], str] = field(repr=False)
    timing: SpeechTiming | None = None  # when the audio was spoken from a script
    words: SpeechTiming | None = None  # else what it says: a transcript, a server's (no subtitles)


RenderFunction = Callable[[RenderContext, ProgressCallback, CancelCheck], None]


def render_with_pipeline(
    context: RenderContext, on_progress: ProgressCallback, should_cancel: CancelCheck
) -> None:
    """The real render: the lip-sync pipeline (and a subtitle track for a scripted job)."""
    from lipforge.lipsync.pipeline import RenderRequest, render

    request = RenderRequest.from_settings(
        context.settings,
        audio_path=context.audio_path,
        video_path=context.video_path,
        output_path=context.output_path,
        engine=context.spec.engine,
        fit=context.spec.fit,
        timing=context.timing or context.words,
    )
    result = render(request, on_progress, should_cancel)
    if context.timing is not None and context.timing.sentences:
        from lipforge.media.subtitles import add_subtitle_track

        add_subtitle_track(context.output_path, context.timing.sentences, context.timing.language)
    context.log(f"rendered {result.frame_count} frames at {result.fps:g} fps")
    for warning in result.warnings:
        context.log(context.in_user_terms(f"warning: {warning}"))


@dataclass(frozen=True)
class RenderRunner:
    """The worker's `run_job` for renders (picklable, for the spawned worker process)."""

    render: RenderFunction = render_with_pipeline

    def metric_label(self, job: ClaimedJob) -> str:
        return str(job.spec.get("engine") or DEFAULT_ENGINE)

    def __call__(
        self, work: JobWork, on_progress: ProgressCallback, should_cancel: CancelCheck
    ) -> str:
        spec = RenderSpec.from_json(work.job.spec)
        timing = None
        if spec.script_text is not None:
            from lipforge.render.speech_stage import speak_for_job

            spec, timing = speak_for_job(work, spec, should_cancel)
        context = render_context(work, spec, timing)
        if timing is None:
            words = words_of_audio(work, spec, context.audio_path, should_cancel)
            context = replace(context, words=words)
        self.render(context, on_progress, should_cancel)
        return spec.output_name


def words_of_audio(
    work: JobWork, spec: RenderSpec, audio_path: Path, should_cancel: CancelCheck
) -> SpeechTiming | None:
    """What the audio says (`render/transcript_stage.py`): its transcript, or a server's."""
    from lipforge.render.transcript_stage import words_for_job

    assert spec.audio_asset_id is not None  # render_context refused a job without audio
    return words_for_job(
        work.sessions,
        work.settings,
        work.job,
        spec.audio_asset_id,
        audio_path,
        work.log,
        should_cancel,
    )


def render_context(work: JobWork, spec: RenderSpec, timing: SpeechTiming | None) -> RenderContext:
    """Hold the job's audio and video as local files; remember the names users gave them."""
    from lipforge.assets.library import asset_key, get_asset

    if spec.audio_asset_id is None:
        raise ValueError(f"job {work.job.id} has neither audio nor a script")
    paths = []
    for asset_id in (spec.audio_asset_id, spec.video_asset_id):
        asset = get_asset(work.sessions, asset_id)
        path = work.hold(asset_key(asset))
        work.user_names.update({str(path): asset.original_name, path.name: asset.original_name})
        paths.append(path)
    return RenderContext(
        work.job,
        spec,
        paths[0],
        paths[1],
        work.output_path,
        work.settings,
        work.log,
        work.in_user_terms,
        timing,
    )
