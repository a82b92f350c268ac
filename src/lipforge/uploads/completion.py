"""What happens when an upload's last byte is on disk: it becomes an asset, or is refused.

`finish_upload` marks the upload finished and hands its data file to the asset
library (`assets.library.ingest_file`) in a worker thread; the asset id or the
media layer's refusal reason is recorded on the upload's info, which HEAD and
`GET /api/uploads/{id}` show. Partial uploads (concatenation) are never ingested.
`resume_unfinished_work` redoes, at start, what a crash interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import os

from lipforge.errors import LipforgeError
from lipforge.logs import log_event
from lipforge.uploads.headers import safe_file_name
from lipforge.uploads.protocol import TusContext, now_s
from lipforge.uploads.store import UploadInfo

INGEST_WAIT_S = 2.0
INGEST_SOURCE = "upload"
STRAY_MIN_AGE_S = 60.0  # younger strays may be another API process's writes in progress


async def finish_upload(
    context: TusContext, info: UploadInfo, wait_s: float = INGEST_WAIT_S
) -> None:
    """Mark `info` finished and start its ingestion; waits briefly so small files answer at once."""
    data_path = context.store.data_path(info.id)
    await asyncio.to_thread(_sync_file, data_path)
    info.finished_at = now_s()
    info.expires_at = info.finished_at + context.settings.upload_expiry_s
    await asyncio.to_thread(context.store.save, info)
    log_event("upload.finished", upload_id=info.id, size_bytes=info.size_bytes)
    if info.concat == "partial":
        return
    task = asyncio.create_task(_ingest(context, info), name=f"ingest-{info.id}")
    context.ingest_tasks.add(task)
    task.add_done_callback(context.ingest_tasks.discard)
    if wait_s > 0:
        await asyncio.wait({task}, timeout=wait_s)


def _sync_file(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _ingest(context: TusContext, info: UploadInfo) -> None:
    try:
        info.asset_id = await asyncio.to_thread(_ingest_blocking, context, info)
        log_event("upload.ingested", upload_id=info.id, asset_id=info.asset_id)
    except LipforgeError as exc:
        info.error = str(exc).replace(info.id, _file_name(info))
        info.error_code = exc.code
        info.error_params = {
            key: value.replace(info.id, _file_name(info)) if isinstance(value, str) else value
            for key, value in exc.params.items()
        }
        log_event("upload.refused", logging.WARNING, upload_id=info.id, reason=info.error)
    except Exception as exc:
        info.error = f"The server could not import this upload ({type(exc).__name__}); see its log."
        info.error_code = "upload_refused"
        log_event("upload.ingest_failed", logging.ERROR, upload_id=info.id, exc_info=True)
    if info.error:
        await asyncio.to_thread(context.store.data_path(info.id).unlink, missing_ok=True)
    await asyncio.to_thread(_save_unless_terminated, context, info)


def _file_name(info: UploadInfo) -> str:
    return safe_file_name(info.metadata.get("filename") or info.metadata.get("name"))


def _ingest_blocking(context: TusContext, info: UploadInfo) -> str:
    from lipforge.assets.library import ingest_file

    path = context.store.data_path(info.id)
    asset = ingest_file(path, _file_name(info), INGEST_SOURCE, context.sessions, context.settings)
    return asset.id


def _save_unless_terminated(context: TusContext, info: UploadInfo) -> None:
    if context.store.data_path(info.id).with_suffix(".info").exists():
        context.store.save(info)


async def reconcile_once(context: TusContext) -> None:
    """Run `resume_unfinished_work` once per app, before the first tus request is served."""
    async with context.reconcile_lock:
        if not context.reconciled:
            await resume_unfinished_work(context)
            context.reconciled = True


async def resume_unfinished_work(context: TusContext) -> None:
    """At start: drop stray files, finish uploads whose bytes were complete, re-run ingestion."""
    store = context.store
    await asyncio.to_thread(store.remove_strays, STRAY_MIN_AGE_S)
    for upload_id in await asyncio.to_thread(store.list_ids):
        try:
            info = await asyncio.to_thread(store.get, upload_id)
        except (LipforgeError, ValueError):
            continue
        if await asyncio.to_thread(context.locks.is_held_anywhere, upload_id):
            continue  # another API process is working on it
        await asyncio.to_thread(_drop_unverified_chunk, context, info)
        complete = info.size_bytes is not None and store.offset(info) == info.size_bytes
        if not info.finished and complete:
            await finish_upload(context, info, wait_s=0)
        elif info.finished and info.concat != "partial" and not (info.asset_id or info.error):
            await _resume_ingest(context, info)


async def _resume_ingest(context: TusContext, info: UploadInfo) -> None:
    if context.store.data_path(info.id).exists():
        task = asyncio.create_task(_ingest(context, info), name=f"ingest-{info.id}")
        context.ingest_tasks.add(task)
        task.add_done_callback(context.ingest_tasks.discard)
        return
    info.error = "The server stopped while importing this upload and lost it; upload it again."
    await asyncio.to_thread(context.store.save, info)


def _drop_unverified_chunk(context: TusContext, info: UploadInfo) -> None:
    """A checksummed chunk cut short by a crash can never be verified: truncate it away."""
    if info.unverified_from is None:
        return
    path = context.store.data_path(info.id)
    if path.exists() and path.stat().st_size > info.unverified_from:
        os.truncate(path, info.unverified_from)
    info.unverified_from = None
    context.store.save(info)
