"""Serving several apps from one process: the main port and the HeyGem companions beside it.

`serve_all` runs every uvicorn server in one event loop, starts the companions once the
main server listens, and stops them together on SIGINT/SIGTERM (marking each app stopping,
so event streams end instead of holding the graceful shutdown). The companion apps and
their access guard are `companions.py`; what runs in them is the routes' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Sequence

import uvicorn

from lipforge.api.stopping import mark_stopping
from lipforge.errors import ConfigError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
START_POLL_S = 0.05


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve_all`."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def serve_all(
    main: uvicorn.Config,
    companions: list[uvicorn.Config],
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run the main server and, once it has started, its companions; stop all on a signal.

    On the signal, `on_stop` runs at once (serve stops its worker there) and the apps are
    marked stopping, so their event streams end instead of holding the graceful shutdown.
    """
    servers = [_QuietServer(main), *(_QuietServer(c) for c in companions)]
    asyncio.run(_serve_all(servers[0], servers[1:], on_stop))


async def _serve_all(
    main: uvicorn.Server,
    companions: Sequence[uvicorn.Server],
    on_stop: Callable[[], None] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    servers = [main, *companions]

    def stop() -> None:
        if main.should_exit:
            return
        for server in servers:
            server.should_exit = True
            mark_stopping(server.config.app)
        if on_stop is not None:
            on_stop()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)
    main_task = asyncio.create_task(main.serve())
    while not main.started and not main_task.done():
        await asyncio.sleep(START_POLL_S)
    tasks = [asyncio.create_task(_serve_companion(server)) for server in companions]
    try:
        await asyncio.wait([main_task, *tasks], return_when=asyncio.FIRST_COMPLETED)
        ended = [server for server, task in zip(companions, tasks, strict=True) if task.done()]
        if ended and not main.should_exit:  # a HeyGem port could not be opened (in use?)
            stop()
            await main_task
            port = ended[0].config.port
            raise ConfigError(
                f"Could not listen on port {port} for the HeyGem API (in use?); see the log "
                "above. Choose another --heygem-port / --heygem-tts-port.",
                port=port,
            )
        await main_task
    finally:
        stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _serve_companion(server: uvicorn.Server) -> None:
    """Serve; uvicorn's sys.exit on a failed bind ends only this task, not the event loop."""
    try:
        await server.serve()
    except SystemExit:
        return
