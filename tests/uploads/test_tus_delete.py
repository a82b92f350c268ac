"""DELETE (termination): 204, the bytes are gone, later requests are 404."""

from __future__ import annotations

from .conftest import TUS, create, patch


def test_terminated_upload_is_removed_and_then_404(api, settings):
    url = create(api, 10).headers["Location"]
    patch(api, url, 0, b"abc")
    upload_id = url.rsplit("/", 1)[1]
    assert (settings.data_dir.uploads / upload_id).exists()
    assert api.delete(url, headers=TUS).status_code == 204
    assert not (settings.data_dir.uploads / upload_id).exists()
    assert not (settings.data_dir.uploads / f"{upload_id}.info").exists()
    assert api.head(url, headers=TUS).status_code == 404
    assert patch(api, url, 3, b"def").status_code == 404
    assert api.delete(url, headers=TUS).status_code == 404
