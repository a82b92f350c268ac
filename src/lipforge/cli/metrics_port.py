"""`--metrics-port` for `serve` and `worker`: GET /metrics alone on its own port.

The port follows the API's rule: open on loopback; on any other address it needs the
access token (`Authorization: Bearer`): the server's token, LIPFORGE_TOKEN, or the one
kept in the data dir, unless --insecure-no-auth. It reads the same multiprocess run
directory as `GET /metrics` on the API, so both answer the same figures. Like the main
port, it throttles clients that give wrong tokens and closes connections slow to send
their headers (LIPFORGE_HEADER_TIMEOUT_S).
"""

from __future__ import annotations

from functools import partial

from lipforge.config import DEFAULT_HOST, Settings
from lipforge.errors import ConfigError


def start_metrics_port(
    settings: Settings, token: str | None, insecure_no_auth: bool = False, default_host: str = ""
):
    """Start the metrics listener when `settings.metrics_port` is set; the server, or None."""
    if not settings.metrics_port:
        return None
    from lipforge.api.auth import is_loopback, load_or_create_token
    from lipforge.api.throttle import FailureThrottle
    from lipforge.db import create_db_engine, session_factory
    from lipforge.jobs.readings import read_queue_figures
    from lipforge.metrics.exposition import start_metrics_server

    host = settings.metrics_host or default_host or DEFAULT_HOST
    if is_loopback(host) or insecure_no_auth:
        token = None
    elif token is None:
        token = settings.token or load_or_create_token(settings)[0]
    sessions = session_factory(create_db_engine(settings.effective_database_url))
    read_queue = partial(read_queue_figures, sessions)
    try:
        server = start_metrics_server(
            host,
            settings.metrics_port,
            read_queue,
            token,
            FailureThrottle.from_settings(settings),  # wrong tokens throttled as on the API
            settings.header_timeout_s,
        )
    except OSError as exc:
        raise ConfigError(
            f"--metrics-port {settings.metrics_port} on {host} cannot be used ({exc.strerror}). "
            "Choose a free port.",
            port=settings.metrics_port,
            host=host,
        ) from exc
    shown = f"[{host}]" if ":" in host else host
    guard = "token required" if token else "open"
    print(f"Metrics on http://{shown}:{settings.metrics_port}/metrics ({guard})", flush=True)
    return server
