"""A drop-in for Duix.Avatar (HeyGem)'s local video API and its fish-speech TTS route.

Clients written for HeyGem's `app_local.py` (ComfyUI nodes, schedulers, web apps) call
`POST /easy/submit` and poll `GET /easy/query?code=…`; here each `code` becomes an ordinary
LipForge batch of one job, kept in the `heygem_tasks` table so it survives restarts and
keeps answering after it ends. The answer shapes are in `contract.py` (with the public
files they were read from), inputs (paths under the HeyGem root, guarded downloads) in
`inputs.py` and `netguard.py`, the code -> job service in `tasks.py`, the result file
`<root>/temp/<code>-r.mp4` in `results.py`. The listeners that serve the contract (and
their access guard) belong to the API: `api/companions.py`. This package imports nothing
from `lipforge.api`, and never renders: the worker does, as for every job.
"""
