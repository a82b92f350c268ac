"""HeyGem's answer shapes: the codes, the task statuses and the envelope, as its clients read them.

Read from public code (none of it copied):
- meiwulang/heygem-face2face-source `app_local.py`, `service/trans_dh_service.py` (a decompiled
  image): answer codes 9999/10000-10004 in the body of an HTTP 200, `Status` run=1, success=2,
  error=3, progress 0 -> 10 (inputs in) -> 20 (audio features) -> 90 -> 100, the result file
  `<code>-r.mp4`, `http:`/`https:` inputs downloaded, any other string used as a path, and
  a finished task forgotten after its first query (the cause of "task not found" reports).
- fengsam6/HeyGem-Linux-Python-Hack `app_server.py`: a finished task's `data` adds `cost`,
  `video_duration`, `width`, `height`; a task waiting in its queue answers status 1.
- duixcom/Duix.Avatar `src/main/service/video.js`, `api/f2f.js`, `api/tts.js`,
  `service/voice.js`, `config/config.js`: `http://127.0.0.1:8383/easy` and
  `http://127.0.0.1:18180/v1/invoke`; inputs are bare file names in `face2face/temp`;
  `data.result` is joined to that folder; codes 9999, 10002, 10003 mean failure;
  `data.status` 1 running, 2 done (then `data.result`), 3 failed (then `data.msg`).
- billwuhao/Comfyui_HeyGem `heygem_node.py`: the body is posted as raw JSON without a
  Content-Type; paths `/code/data/temp/<file>` (the container's mount); polls until status 2,
  then opens `<mount>/temp/<code>-r.mp4`; any HTTP status but 200 is a broken server.
- touge/Duix.Heygem.Proxy (`../characters/x.mp4`: relative paths climb out of temp/ but stay
  in the mount), youdemo/heygem-api (`/code/data/voice/...` absolute container paths),
  toni-k8s/heygem-backend-management `log_path/*.log` (real answers: `data.code` echoes the
  code, the envelope's `msg` is "" on a query, `success` is true even for 10004).
HeyGem has no waiting status (it answers 10001 "busy" instead of queueing); LipForge queues,
so a waiting job answers status 1 with progress 0 and says so in `msg`, as the queueing fork does.
"""

from __future__ import annotations

from enum import IntEnum

RESULT_SUFFIX = "-r.mp4"
CONTAINER_MOUNT = "/code/data"  # where HeyGem's container sees the root; clients send such paths


class AnswerCode(IntEnum):
    """The `code` of every HeyGem answer (always with HTTP 200). LipForge never answers BUSY."""

    SYSTEM_ERROR = 9999
    SUCCESS = 10000
    BUSY = 10001
    BAD_PARAMETER = 10002
    LOCK_ERROR = 10003
    TASK_NOT_FOUND = 10004


class TaskStatus(IntEnum):
    """`data.status` of a query: waiting jobs also answer RUNNING (HeyGem has no waiting value)."""

    RUNNING = 1
    SUCCEEDED = 2
    FAILED = 3


def envelope(code: AnswerCode, msg: str, data: dict | None = None, success: bool | None = None):
    """`{"code", "success", "msg", "data"}`; HeyGem says success=true for 10000 and 10004."""
    if success is None:
        success = code in (AnswerCode.SUCCESS, AnswerCode.TASK_NOT_FOUND)
    return {"code": int(code), "success": success, "msg": msg, "data": data or {}}


def result_name(code: str) -> str:
    """The result file's name in `<root>/temp/`; `data.result` is this with a leading slash."""
    return f"{code}{RESULT_SUFFIX}"
