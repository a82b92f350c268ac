"""`POST /api/voices/{name}/preview`: a voice speaks one short line, answered as a WAV.

The page's "hear the first sentence" and "test this voice" buttons use it. Only the first
sentence of the text is spoken (at most `PREVIEW_MAX_CHARS`), through the same
`synthesize_script` as a batch (so the sentence cache serves a later batch too); the WAV
is written to a temp file and answered whole. It stores nothing else.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from lipforge.api.schema import error_responses
from lipforge.speech.script import synthesize_script
from lipforge.speech.sentences import split_script
from lipforge.speech.voices import get_voice

router = APIRouter()

PREVIEW_MAX_CHARS = 200
WAV_MEDIA_TYPE = "audio/wav"


class PreviewBody(BaseModel):
    """The line to speak; only its first sentence is used."""

    text: str = Field(min_length=1, max_length=20_000)


def first_sentence(text: str) -> str:
    pieces = split_script(text, PREVIEW_MAX_CHARS)
    return pieces[0].text if pieces else text.strip()[:PREVIEW_MAX_CHARS]


def _speak(sessions, settings, name: str, text: str) -> bytes:
    with sessions() as session:
        voice = get_voice(session, name)
    with tempfile.TemporaryDirectory(prefix="lipforge-preview-") as folder:
        out_path = Path(folder) / "preview.wav"
        synthesize_script(voice, first_sentence(text), out_path, settings)
        return out_path.read_bytes()


@router.post(
    "/api/voices/{name}/preview",
    responses={
        200: {"content": {WAV_MEDIA_TYPE: {}}, "description": "The first sentence, spoken."},
        **error_responses(404, 409, 422, 502, status_502="The voice's speech server failed."),
    },
    response_class=Response,
)
async def preview_voice_route(request: Request, name: str, body: PreviewBody) -> Response:
    state = request.app.state
    audio = await asyncio.to_thread(_speak, state.sessions, state.settings, name, body.text)
    return Response(audio, media_type=WAV_MEDIA_TYPE, headers={"Cache-Control": "no-store"})
