"""The OpenAPI document tells the truth: schemathesis (`--checks all`) against a real server.

Every operation of the whole document is fuzzed with a bounded number of examples: each
answer's status must be documented with its body's schema and content type, schema-valid
requests must not be refused as invalid (and invalid ones must be), Allow must list the
path's methods, and a request without the token must get 401. A failure prints
schemathesis' own report (with a curl line to reproduce it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.serving import lipforge_serve

BIN = Path(sys.executable).parent
TOKEN = "conformance-test-token-0123456789"
MAX_EXAMPLES = 3  # per operation: about a minute on 2 busy cores
# The coverage phase (~1,200 boundary cases, minutes on 2 busy cores) is left to a run by hand:
#   st run http://127.0.0.1:7860/openapi.json --checks all --phases coverage -H "Authorization: …"
PHASES = "examples,fuzzing,stateful"
SEED = "20261130"
RUN_TIMEOUT_S = 480


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("openapi") / "data"
    settings = {
        "token": TOKEN,
        "auth_max_failures": "1000000",  # the fuzzer's missing-token probes are not guesses
        "min_free_disk_bytes": "0",
    }
    with lipforge_serve(data, **settings) as (_port, base_url):
        yield base_url


def test_the_whole_document_passes_every_schemathesis_check(server, tmp_path):
    command = [
        str(BIN / "st"), "run", f"{server}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--max-examples", str(MAX_EXAMPLES),
        "--phases", PHASES,
        "--seed", SEED,
        "--workers", "2",
        "--request-timeout", "10",
        "--suppress-health-check", "all",
        "--no-color",
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    report = run.stdout[-12000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "Tested:" in run.stdout
