"""A server that answered is never "unreachable": refusals exit as what they are."""

from __future__ import annotations

import httpx
import pytest

from lipforge.cli.exits import EXIT_AUTH, EXIT_UNREACHABLE, EXIT_USAGE
from lipforge.cli.remote import RemoteError, call_api


def answering(status: int) -> httpx.Client:
    body = {"error": "not_found", "message": "No batch with id 'nope'.", "params": {}}
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body))
    return httpx.Client(transport=transport, base_url="http://server.test")


@pytest.mark.parametrize(
    ("status", "exit_code"),
    [(404, EXIT_USAGE), (409, EXIT_USAGE), (401, EXIT_AUTH), (500, EXIT_UNREACHABLE)],
)
def test_a_refusal_exits_with_its_own_status(status: int, exit_code: int) -> None:
    with answering(status) as client, pytest.raises(RemoteError) as raised:
        call_api(client, "GET", "/api/batches/nope")
    assert raised.value.exit_code == exit_code
    assert "No batch with id 'nope'" in str(raised.value)
