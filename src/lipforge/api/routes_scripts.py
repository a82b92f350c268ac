"""`POST /api/scripts/plan`: a dry run of a script with a voice, nothing spoken or queued.

The page's script box shows "N sentences · about M:SS" from this answer, so it counts with
the server's own splitter (long sentences cut at commas, as the speech stage cuts them) and
the same length estimate the batch's progress starts from. The rules are
`render/scripts.py`'s; this module only parses and answers.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from lipforge.api.schema import error_responses
from lipforge.render.scripts import MAX_SCRIPT_CHARS, plan_script

router = APIRouter()


class PlanBody(BaseModel):
    """The script and the voice that would speak it."""

    text: str = Field(max_length=MAX_SCRIPT_CHARS)
    voice: str = Field(max_length=64)


@router.post("/api/scripts/plan", responses=error_responses(404, 422))
async def plan_script_route(request: Request, body: PlanBody) -> dict:
    """The pieces the worker would speak, the sentence count and the estimated seconds."""
    state = request.app.state
    plan = await asyncio.to_thread(
        plan_script, state.sessions, body.text, body.voice, state.settings.speech_pause_s
    )
    return {
        "language": plan.language,
        "pieces": plan.pieces,
        "sentences": plan.sentences,
        "estimated_s": plan.estimated_s,
    }
