"""Access control as a client sees it: open on loopback, token beyond it, Bearer, cookie login."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient

from lipforge.api.app import create_app
from lipforge.api.auth import (
    COOKIE_NAME,
    Access,
    check_exposure,
    is_loopback,
    load_or_create_token,
    serve_access,
    token_file,
)
from lipforge.config import Settings
from lipforge.errors import ConfigError

TOKEN = "correct-horse-battery-staple-42"
PROTECTED = "/api/assets"


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


@pytest.fixture
def tokened(tmp_path):
    with client_for(Settings(data=tmp_path, token=TOKEN)) as client:
        yield client


def test_loopback_without_token_runs_open(tmp_path):
    with client_for(Settings(data=tmp_path, host="127.0.0.1")) as client:
        assert client.get(PROTECTED).status_code == 200
    assert not token_file(Settings(data=tmp_path)).exists()


def test_beyond_loopback_a_token_is_made_kept_0600_and_required(tmp_path):
    settings = Settings(data=tmp_path, host="0.0.0.0")
    with client_for(settings) as client:
        assert client.get(PROTECTED).status_code == 401
        path = token_file(settings)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token, created = load_or_create_token(settings)
        assert not created and len(token) >= 32
        answer = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200


def test_the_token_survives_a_restart(tmp_path):
    settings = Settings(data=tmp_path, host="0.0.0.0")
    first, created = load_or_create_token(settings)
    second, created_again = load_or_create_token(settings)
    assert created and not created_again and first == second


def test_bearer_token_is_accepted_and_a_wrong_one_is_not(tokened):
    assert tokened.get(PROTECTED, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert tokened.get(PROTECTED, headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN):
        assert tokened.get(PROTECTED, headers={"Authorization": header}).status_code == 401


def test_401_body_reveals_nothing_about_the_route_or_the_token(tokened):
    missing = tokened.get("/api/assets/does-not-exist")
    wrong = tokened.delete(PROTECTED + "/x", headers={"Authorization": "Bearer nope"})
    unknown = tokened.post("/api/no/such/route")
    for answer in (missing, wrong, unknown):
        assert answer.status_code == 401
        body = answer.json()
        assert set(body) == {"error", "message", "params"}
        assert body["error"] == "unauthorized"
        assert TOKEN not in answer.text and "not_found" not in answer.text
    assert missing.content == unknown.content


def test_health_stays_open_and_preflights_pass(tokened):
    assert tokened.get("/api/health").json()["status"] == "ok"
    preflight = tokened.options(
        "/api/uploads/",
        headers={"Origin": "http://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code != 401


def test_a_401_to_an_allowed_origin_is_readable_there(tmp_path):
    settings = Settings(data=tmp_path, token=TOKEN, cors_origins=("https://app.example",))
    with client_for(settings) as client:
        allowed = client.get(PROTECTED, headers={"Origin": "https://app.example"})
        other = client.get(PROTECTED, headers={"Origin": "https://evil.example"})
    assert allowed.status_code == other.status_code == 401
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_docs_and_openapi_are_guarded_too(tokened):
    assert tokened.get("/openapi.json").status_code == 401


def test_browser_is_sent_to_the_login_page_and_back(tokened):
    page = tokened.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    form = tokened.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.text
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]


def test_login_form_sets_an_httponly_strict_cookie_that_opens_the_api(tokened):
    answer = tokened.post("/login", data={"token": TOKEN, "next": "/batches"})
    assert answer.status_code == 303 and answer.headers["location"] == "/batches"
    cookie_header = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=strict" in cookie_header
    assert TOKEN not in cookie_header
    assert tokened.get(PROTECTED).status_code == 200
    tokened.cookies.clear()
    assert tokened.get(PROTECTED).status_code == 401


def test_login_form_with_a_wrong_token_shows_the_form_again(tokened):
    answer = tokened.post("/login", data={"token": "guess", "next": "/"})
    assert answer.status_code == 401 and "not right" in answer.text
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "")
    assert tokened.get(PROTECTED).status_code == 401


def test_login_never_redirects_off_site(tokened):
    answer = tokened.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_json_login_and_logout(tokened):
    assert tokened.post("/api/login", json={"token": "nope"}).status_code == 401
    assert tokened.post("/api/login", json={"token": TOKEN}).status_code == 204
    assert tokened.get(PROTECTED).status_code == 200
    assert tokened.post("/api/logout").status_code == 204
    assert tokened.get(PROTECTED).status_code == 401


def test_a_forged_cookie_is_refused(tokened):
    tokened.cookies.set(COOKIE_NAME, TOKEN)
    assert tokened.get(PROTECTED).status_code == 401


def test_loopback_detection():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.org"]))


def test_serve_refuses_to_run_open_beyond_loopback_without_the_flag(tmp_path):
    exposed = Settings(data=tmp_path, host="0.0.0.0")
    with pytest.raises(ConfigError, match="--insecure-no-auth"):
        check_exposure(exposed, Access(None), insecure_no_auth=False)
    check_exposure(exposed, Access(None), insecure_no_auth=True)
    check_exposure(Settings(data=tmp_path), Access(None), insecure_no_auth=False)


def test_serve_access_makes_a_token_beyond_loopback_and_behind_a_proxy(tmp_path):
    access, created = serve_access(Settings(data=tmp_path, host="0.0.0.0"), False)
    assert access.required and created
    behind = serve_access(Settings(data=tmp_path, behind_proxy=True), False)[0]
    assert behind.token == access.token
    assert not serve_access(Settings(data=tmp_path / "b", host="0.0.0.0"), True)[0].required
    assert not serve_access(Settings(data=tmp_path / "c"), False)[0].required


def test_serve_refuses_a_short_configured_token_beyond_loopback(tmp_path):
    with pytest.raises(ConfigError, match="at least 16"):
        serve_access(Settings(data=tmp_path, host="0.0.0.0", token="short"), False)


def test_token_id_is_a_short_hash_and_never_the_token():
    access = Access(TOKEN)
    assert len(access.token_id) == 12 and access.token_id not in TOKEN
    assert Access(None).token_id == "anonymous"
