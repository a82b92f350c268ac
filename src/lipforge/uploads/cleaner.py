"""The upload cleaner: a background service that removes expired uploads.

At start it reconciles the store with the disk (`reconcile_once`); then,
every few minutes, it removes unfinished uploads past their expiry and the info of
finished ones kept past theirs. An upload a request is working on, in this API
process or another, is skipped until the next round. Registered in `api/app.py`
BACKGROUND_SERVICES.
"""

from __future__ import annotations

import asyncio
import logging

from lipforge.errors import LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.completion import reconcile_once
from lipforge.uploads.protocol import TusContext, now_s, tus_context

CLEAN_INTERVAL_S = 300.0


def remove_expired(context: TusContext, busy_ids: set[str]) -> list[str]:
    """Blocking: remove uploads past their expiry, except `busy_ids`; the removed ids."""
    removed = []
    for upload_id in context.store.list_ids():
        if upload_id in busy_ids or context.locks.is_held_anywhere(upload_id):
            continue
        try:
            info = context.store.get(upload_id)
        except (LipforgeError, ValueError):
            continue
        if info.expires_at and now_s() > info.expires_at:
            context.store.terminate(upload_id)
            removed.append(upload_id)
    return removed


def _ingesting_ids(context: TusContext) -> set[str]:
    return {task.get_name().removeprefix("ingest-") for task in context.ingest_tasks}


async def upload_cleaner(app, interval_s: float = CLEAN_INTERVAL_S) -> None:
    """Background service: reconcile at start, then remove expired uploads every `interval_s`."""
    context = tus_context(app)
    await reconcile_once(context)
    while True:
        try:
            removed = await asyncio.to_thread(remove_expired, context, _ingesting_ids(context))
            for upload_id in removed:
                log_event("upload.expired", upload_id=upload_id)
        except Exception:
            log_event("upload.cleaner_failed", logging.ERROR, exc_info=True)
        await asyncio.sleep(interval_s)
