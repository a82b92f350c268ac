"""The guard in front of every route, as an attacker and as a user see it: foreign Host names on
an open server (DNS rebinding), guessing tokens, cross-site changes riding on the cookie,
sessions that logout and a token change end, CORS with a wildcard."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.api.auth import COOKIE_NAME
from lipforge.config import Settings

TOKEN = "correct-horse-battery-staple-42"
NEW_TOKEN = "another-horse-another-staple-43"
LOOPBACK_URL = "http://127.0.0.1:7860"


def client_for(settings: Settings, **kwargs) -> TestClient:
    """A client whose requests look as if they came through the loopback socket."""
    return TestClient(create_app(settings), base_url=LOOPBACK_URL, follow_redirects=False, **kwargs)


@pytest.fixture
def open_server(tmp_path):
    with client_for(Settings(data=tmp_path / "data")) as client:
        yield client


@pytest.fixture
def tokened(tmp_path):
    with client_for(Settings(data=tmp_path / "data", token=TOKEN, auth_max_failures=5)) as client:
        yield client


def login(client: TestClient) -> str:
    answer = client.post("/api/login", json={"token": TOKEN})
    assert answer.status_code == 204
    return client.cookies[COOKIE_NAME]


# -- defect 3: DNS rebinding against an open loopback server ------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7860", "127.0.0.1.evil.example"])
def test_an_open_server_refuses_a_foreign_host_name(open_server, host):
    for method, path in (("GET", "/api/assets"), ("DELETE", "/api/assets/x"), ("GET", "/")):
        answer = open_server.request(method, path, headers={"Host": host})
        assert answer.status_code == 421, (method, path, answer.text)
        body = answer.json()
        assert body["error"] == "misdirected_host" and body["params"]["host"] == host
        assert "LIPFORGE_ALLOWED_HOSTS" in body["message"]


def test_the_tus_location_never_points_at_a_foreign_host(open_server):
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "3"}
    foreign = open_server.post("/api/uploads/", headers={**headers, "Host": "evil.example"})
    assert foreign.status_code == 421 and "location" not in foreign.headers
    own = open_server.post("/api/uploads/", headers={**headers, "Host": "localhost:7860"})
    assert own.status_code == 201
    assert own.headers["location"].startswith("http://localhost:7860/api/uploads/")


@pytest.mark.parametrize("host", ["localhost", "localhost:7860", "127.0.0.1:7860", "[::1]:7860"])
def test_an_open_server_answers_loopback_names_on_any_port(open_server, host):
    assert open_server.get("/api/assets", headers={"Host": host}).status_code == 200


def test_allowed_hosts_adds_names(tmp_path):
    settings = Settings(data=tmp_path / "data", allowed_hosts=("studio.lan",))
    with client_for(settings) as client:
        assert client.get("/api/assets", headers={"Host": "studio.lan:7860"}).status_code == 200
        assert client.get("/api/assets", headers={"Host": "other.lan"}).status_code == 421


# -- failed authentication is slowed down per client address ------------------------------


def test_repeated_wrong_bearer_tokens_get_429_with_retry_after(tokened):
    for _ in range(5):
        wrong = tokened.get("/api/assets", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
    slowed = tokened.get("/api/assets", headers={"Authorization": f"Bearer {TOKEN}"})
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["retry-after"]) <= 60
    assert slowed.json()["error"] == "too_many_failures"
    assert slowed.json()["params"]["retry_after_s"] == int(slowed.headers["retry-after"])
    assert tokened.post("/api/login", json={"token": TOKEN}).status_code == 429
    assert tokened.post("/login", data={"token": TOKEN}).status_code == 429


def test_repeated_wrong_logins_get_429(tokened):
    for _ in range(5):
        assert tokened.post("/api/login", json={"token": "guess"}).status_code == 401
    answer = tokened.post("/login", data={"token": "guess", "next": "/"})
    assert answer.status_code == 429 and "retry-after" in answer.headers


# -- cookie-authenticated changes from another site -----------------------------------------


def test_a_cookie_change_from_a_foreign_origin_is_refused(tokened):
    login(tokened)
    for origin in ("http://evil.example", "http://127.0.0.1:8080", "null"):
        answer = tokened.delete("/api/assets/x", headers={"Origin": origin})
        assert answer.status_code == 403, origin
        assert answer.json()["error"] == "foreign_origin"
    cross_site = tokened.delete("/api/assets/x", headers={"Sec-Fetch-Site": "same-site"})
    assert cross_site.status_code == 403
    own = tokened.delete("/api/assets/x", headers={"Origin": LOOPBACK_URL})
    assert own.status_code == 404
    assert tokened.get("/api/assets", headers={"Origin": "http://evil.example"}).status_code == 200


def test_a_bearer_change_is_not_an_origin_question(tokened):
    bearer = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
    assert tokened.delete("/api/assets/x", headers=bearer).status_code == 404


def test_an_open_server_refuses_changes_from_another_port(open_server):
    answer = open_server.delete("/api/assets/x", headers={"Origin": "http://127.0.0.1:9999"})
    assert answer.status_code == 403


# -- sessions: logout and a token change end them --------------------------------------------


def test_logout_ends_the_session_for_every_copy_of_the_cookie(tokened):
    secret = login(tokened)
    assert TOKEN not in secret
    assert tokened.get("/api/assets").status_code == 200
    assert tokened.post("/api/logout").status_code == 204
    tokened.cookies.set(COOKIE_NAME, secret)
    assert tokened.get("/api/assets").status_code == 401


def test_a_token_change_ends_old_sessions(tmp_path):
    data = tmp_path / "data"
    with client_for(Settings(data=data, token=TOKEN)) as client:
        secret = login(client)
        assert client.get("/api/assets").status_code == 200
    with client_for(Settings(data=data, token=NEW_TOKEN)) as client:
        client.cookies.set(COOKIE_NAME, secret)
        assert client.get("/api/assets").status_code == 401


# -- CORS with a wildcard ------------------------------------------------------------------


def test_a_cors_wildcard_never_allows_credentials_nor_echoes_null(tmp_path):
    settings = Settings(data=tmp_path / "data", token=TOKEN, cors_origins=("*",))
    with client_for(settings) as client:
        page = client.get("/api/assets", headers={"Origin": "https://app.example"})
        assert page.status_code == 401
        assert page.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in page.headers
        null = client.get("/api/assets", headers={"Origin": "null"})
        assert null.headers.get("access-control-allow-origin") in (None, "*")
        assert "access-control-allow-credentials" not in null.headers
        preflight = client.options(
            "/api/uploads/",
            headers={"Origin": "null", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") != "null"
        assert "access-control-allow-credentials" not in preflight.headers
