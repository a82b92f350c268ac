"""`lipforge serve`: the API (FastAPI on uvicorn) plus, by default, a worker in its own process.

It settles access before anything listens (open on loopback; beyond it a token, made
on first start and printed once, or LIPFORGE_TOKEN; never open beyond loopback
without --insecure-no-auth), runs the migrations once, starts the worker process,
serves until Ctrl-C or SIGTERM, then stops the worker. The routes live in `api/`,
the worker loop in `jobs/`.
"""

from __future__ import annotations

import multiprocessing
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lipforge.cli import app
from lipforge.cli.metrics_port import start_metrics_port
from lipforge.config import Settings
from lipforge.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn
    from rich.console import Console

    from lipforge.api.auth import Access

GRACEFUL_SHUTDOWN_S = 5.0
WORKER_STOP_TIMEOUT_S = 10.0


@cache
def _console() -> Console:
    from rich.console import Console

    return Console()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (7860).")] = None,
    data: Annotated[Path | None, typer.Option(help="Data dir (./lipforge-data).")] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option(help="Run without a token even beyond loopback (trusted networks).")
    ] = False,
    behind_proxy: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* from a reverse proxy; needs a token.")
    ] = False,
    no_worker: Annotated[bool, typer.Option(help="Serve the API only; run workers apart.")] = False,
    slots: Annotated[int | None, typer.Option(help="Jobs the worker runs at once (1).")] = None,
    heygem_port: Annotated[
        int | None, typer.Option(help="Also serve HeyGem's /easy/ API on this port (8383).")
    ] = None,
    heygem_tts_port: Annotated[
        int | None, typer.Option(help="Also serve HeyGem's TTS /v1/invoke on this port (18180).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Also serve GET /metrics alone on this port.")
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option(help="Address of the metrics port (the API's host).")
    ] = None,
) -> None:
    """Serve the API and the browser UI, with a worker process unless --no-worker."""
    from lipforge.api.app import create_app
    from lipforge.api.auth import check_exposure, serve_access
    from lipforge.db import migrate
    from lipforge.logs import configure_logging
    from lipforge.metrics.multiproc import prepare_run_dir

    settings = Settings.from_env().with_overrides(
        host=host,
        port=port,
        data=data,
        behind_proxy=True if behind_proxy else None,
        worker_slots=slots,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    access, created = serve_access(settings, insecure_no_auth)
    check_exposure(settings, access, insecure_no_auth)
    check_ports_free(settings.host, {"--port": settings.port, "--heygem-port": heygem_port,
                                     "--heygem-tts-port": heygem_tts_port})  # fmt: skip
    settings.data_dir.ensure()
    configure_logging(settings.data_dir.logs)
    migrate(settings.effective_database_url)
    announce(settings, access, created)
    prepare_run_dir()  # before anything is counted; the worker child inherits it
    start_metrics_port(settings, access.token, insecure_no_auth, default_host=settings.host)
    api = create_app(settings)
    api.state.access = access
    worker = None if no_worker else start_worker_process(settings)
    # On SIGTERM/Ctrl-C the worker is told at once (its job goes back to the queue) rather
    # than after the API's graceful shutdown, which may last GRACEFUL_SHUTDOWN_S.
    on_stop = worker.terminate if worker is not None else None
    try:
        run_api(api, settings, heygem_port, heygem_tts_port, on_stop)
    finally:
        stop_worker_process(worker)


def check_ports_free(host: str, ports: dict[str, int | None]) -> None:
    """ConfigError naming the option whose port another program holds, before anything starts
    (uvicorn would only exit with a traceback once the worker had been started)."""
    for option, port in ports.items():
        if not port:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ConfigError(
                    f"Cannot listen on {host}:{port} ({exc.strerror}): another program "
                    f"(another LipForge?) holds it. Stop it or choose another {option}.",
                    host=host,
                    port=port,
                    option=option,
                ) from None


def start_worker_process(settings: Settings) -> multiprocessing.Process | None:
    """Start the job worker in its own process, started again if it dies (jobs/process.py)."""
    from lipforge.jobs.process import start_worker_supervisor
    from lipforge.render.runner import RenderRunner

    return start_worker_supervisor(settings, RenderRunner())


def stop_worker_process(process: multiprocessing.Process | None) -> None:
    """Ask the worker to stop (SIGTERM), wait for it, and kill it if it does not stop in time."""
    if process is None or not process.is_alive():
        return
    process.terminate()
    process.join(WORKER_STOP_TIMEOUT_S)
    if process.is_alive():
        from lipforge.logs import log_event

        log_event("serve.worker_killed", pid=process.pid)
        process.kill()
        process.join()


def run_api(api, settings: Settings, heygem_port=None, heygem_tts_port=None, on_stop=None) -> None:
    """Serve the API; with HeyGem ports, their listeners too (api/companions.py, served by
    api/server.py). `on_stop` runs as soon as a stop signal arrives."""
    from lipforge.api.companions import heygem_configs
    from lipforge.api.server import serve_all

    companions = heygem_configs(api, settings, heygem_port, heygem_tts_port, _uvicorn_config)
    for line in companions.announcements:
        _console().print(line, highlight=False)
    serve_all(_uvicorn_config(api, settings, settings.port), companions.configs, on_stop)


def _uvicorn_config(api, settings: Settings, port: int, lifespan: str = "on") -> uvicorn.Config:
    import uvicorn

    from lipforge.api.connections import header_deadline_protocol

    return uvicorn.Config(
        api,
        host=settings.host,
        port=port,
        proxy_headers=settings.behind_proxy,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        http=header_deadline_protocol(settings.header_timeout_s),
        log_level="warning",
        lifespan=lifespan,
    )


def announce(settings: Settings, access: Access, token_created: bool) -> None:
    from lipforge.api.auth import token_file
    from lipforge.logs import log_event

    console = _console()
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    console.print(
        f"LipForge on http://{shown_host}:{settings.port}  (data: {settings.data.resolve()})"
    )
    if not access.required:
        console.print("Access: open (no token).")
    elif token_created:
        console.print(
            f"Access token, shown only this once (kept in {token_file(settings)}):\n{access.token}",
            highlight=False,
            soft_wrap=True,
        )
    elif settings.token:
        console.print("Access: token from LIPFORGE_TOKEN.")
    else:
        console.print(f"Access: token required; it is kept in {token_file(settings)}.")
    log_event("serve.start", host=settings.host, port=settings.port, token_id=access.token_id)
