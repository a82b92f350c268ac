"""HeyGem input strings: paths stay under the root, downloads are guarded, file:// is refused."""

from __future__ import annotations

import ipaddress
import os

import pytest
from heygem_files import serve_files

from lipforge.heygem.errors import FetchRefusedError, FetchTooLargeError, InputRefusedError
from lipforge.heygem.fetcher import fetch_url
from lipforge.heygem.inputs import resolve_root_path, stage_input
from lipforge.heygem.netguard import AddressPolicy, parse_networks

ALLOW_127_0_0_2 = AddressPolicy(parse_networks(["127.0.0.2/32"], "test"))


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "heygem"
    (root / "temp").mkdir(parents=True)
    (root / "characters").mkdir()
    (root / "temp" / "a.wav").write_bytes(b"A")
    (root / "characters" / "face.mp4").write_bytes(b"V")
    return root


def test_paths_resolve_as_heygem_clients_send_them(root):
    temp = root / "temp"
    assert resolve_root_path("audio_url", "a.wav", root) == temp / "a.wav"  # Duix.Avatar
    comfyui_path = "/code/data/temp/a.wav"
    assert resolve_root_path("audio_url", comfyui_path, root) == temp / "a.wav"
    assert resolve_root_path("video_url", "../characters/face.mp4", root) == (
        root / "characters" / "face.mp4"
    )  # Duix.Heygem.Proxy
    assert resolve_root_path("audio_url", str(temp / "a.wav"), root) == temp / "a.wav"


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "/etc/passwd", "/code/data/../../etc/passwd", "/code/database"]
)
def test_paths_leaving_the_root_are_refused(root, value):
    with pytest.raises(InputRefusedError) as caught:
        resolve_root_path("audio_url", value, root)
    assert "outside the HeyGem root" in str(caught.value) or "no such file" in str(caught.value)


def test_a_symlink_that_leads_out_is_refused(root, tmp_path):
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"S")
    os.symlink(secret, root / "temp" / "link.wav")
    with pytest.raises(InputRefusedError, match="outside the HeyGem root"):
        resolve_root_path("audio_url", "link.wav", root)


def test_missing_files_and_file_urls_are_refused(root, tmp_path):
    with pytest.raises(InputRefusedError, match="no such file"):
        resolve_root_path("audio_url", "missing.wav", root)
    for value in ("file:///etc/passwd", "FILE:/etc/passwd", "ftp://example.com/a.wav"):
        with pytest.raises(InputRefusedError, match="file://"):
            stage_input("audio_url", value, root, tmp_path, AddressPolicy(), 1000)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_the_policy_refuses_local_addresses(address):
    assert not AddressPolicy().permits(ipaddress.ip_address(address))


def test_the_policy_permits_public_and_listed_addresses():
    assert AddressPolicy().permits(ipaddress.ip_address("93.184.216.34"))
    assert ALLOW_127_0_0_2.permits(ipaddress.ip_address("127.0.0.2"))
    assert not ALLOW_127_0_0_2.permits(ipaddress.ip_address("127.0.0.1"))


def test_a_download_from_an_allowed_address(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x" * 5000)
    with serve_files(tmp_path) as base:
        size = fetch_url(f"{base}/files/a.wav", tmp_path / "got", ALLOW_127_0_0_2, 10_000)
    assert size == 5000 and (tmp_path / "got").read_bytes() == b"x" * 5000


def test_a_redirect_to_loopback_is_refused_after_the_first_hop(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x")
    with serve_files(tmp_path) as base, serve_files(tmp_path, "127.0.0.1") as local:
        url = f"{base}/redirect?to={local}/files/a.wav"
        with pytest.raises(FetchRefusedError, match="127.0.0.1"):
            fetch_url(url, tmp_path / "got", ALLOW_127_0_0_2, 10_000)


def test_a_download_larger_than_the_limit_is_refused(tmp_path):
    (tmp_path / "big.wav").write_bytes(b"x" * 20_000)
    with serve_files(tmp_path) as base:
        with pytest.raises(FetchTooLargeError, match="20000 bytes"):
            fetch_url(f"{base}/files/big.wav", tmp_path / "got", ALLOW_127_0_0_2, 10_000)


def test_a_name_that_resolves_to_loopback_is_refused(tmp_path):
    with pytest.raises(FetchRefusedError, match="localhost resolves to"):
        fetch_url("http://localhost:9/a.wav", tmp_path / "got", AddressPolicy(), 10_000)
