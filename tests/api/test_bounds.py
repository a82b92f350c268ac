"""Integer inputs past what the database holds are refused in the error shape, never a 500;
the framework's own refusals (unknown path, wrong method, unreadable body) too."""

from __future__ import annotations

import pytest

HUGE = "9223372036854775808"  # 2**63: one past SQLite's largest integer


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/assets", {"offset": HUGE}),
        ("/api/assets", {"limit": HUGE}),
        ("/api/batches", {"offset": HUGE}),
        ("/api/batches", {"offset": "-1"}),
        ("/api/events", {"last_event_id": HUGE}),
        ("/api/jobs/x/log", {"tail": HUGE}),
    ],
)
def test_huge_integers_in_the_query_are_a_422(api, path, params):
    answer = api.get(path, params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "bad_request" and set(body) == {"error", "message", "params"}
    assert next(iter(params)) in body["message"]


@pytest.mark.parametrize("value", [HUGE, "99999999999999999999999", "12abc"])
def test_a_bad_last_event_id_header_is_refused_before_the_stream_opens(api, value):
    answer = api.get("/api/events", headers={"Last-Event-ID": value})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/json")
    assert "Last-Event-ID" in answer.json()["message"]


def test_framework_refusals_use_the_error_shape_and_a_full_allow(api):
    wrong_method = api.put("/api/assets/some-id")
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["allow"].split(", ")) == {"DELETE", "GET", "PATCH"}
    assert wrong_method.json()["error"] == "method_not_allowed"
    nowhere = api.get("/api/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["params"]["path"] == "/api/nowhere"
    unreadable = api.post(
        "/api/batches", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code in (400, 422)
    assert set(unreadable.json()) == {"error", "message", "params"}
