"""`lipforge worker`: run a job worker alone (for extra GPUs or machines sharing the data dir).

Settings come from the environment (LIPFORGE_DATABASE_URL for PostgreSQL, LIPFORGE_DATA)
and the options; the loop itself is in `jobs/worker.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lipforge.cli import app
from lipforge.config import Settings
from lipforge.errors import ConfigError


@app.command()
def worker(
    slots: Annotated[
        int | None, typer.Option(help="Jobs run at once: one per GPU or CPU slot (1).")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Data dir (./lipforge-data).")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve GET /metrics (job times, fps, GPUs) on this port.")
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option(help="Address of the metrics port (127.0.0.1).")
    ] = None,
) -> None:
    """Claim and render queued jobs until Ctrl-C (running jobs then go back to the queue)."""
    from lipforge.cli.metrics_port import start_metrics_port
    from lipforge.jobs.process import run_worker_process
    from lipforge.metrics.multiproc import prepare_run_dir
    from lipforge.render.runner import RenderRunner

    settings = Settings.from_env().with_overrides(
        data=data, worker_slots=slots, metrics_port=metrics_port, metrics_host=metrics_host
    )
    if settings.worker_slots < 1:
        raise ConfigError(f"--slots has value {settings.worker_slots}. Use 1 or more.")
    typer.echo(
        f"LipForge worker: {settings.worker_slots} slot(s), data {settings.data_dir.root}, "
        f"database {_shown_url(settings.effective_database_url)}"
    )
    prepare_run_dir()
    start_metrics_port(settings, settings.token or None)
    run_worker_process(settings, RenderRunner())


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
