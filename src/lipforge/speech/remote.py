"""What the HTTP speech engines share: the voice's URL check, its reference audio, the
client, and the checks on the audio a server answers (empty, undecodable, a sample rate no
speech has, such as 0 or 1 Hz, refused with the server's name before it is resampled or
cached)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import ClassVar

import numpy as np

from lipforge.speech.audio import AudioDecodeError
from lipforge.speech.engines import EngineContext
from lipforge.speech.errors import InvalidVoiceError, SpeechAudioError
from lipforge.speech.httpclient import TtsHttpClient, api_key_header
from lipforge.speech.voices import SAMPLE_RATE_RANGE, Voice, is_usable_url

MIN_AUDIO_S = 0.05


def check_rate(rate: int, server: str, url: str, engine: str = "") -> None:
    """SpeechAudioError unless `rate` is one speech is sampled at (the voices' own range)."""
    low, high = SAMPLE_RATE_RANGE
    if not low <= rate <= high:
        raise SpeechAudioError(
            f"{server} at {url} answered audio at {rate} Hz, which is not a speech sample rate "
            f"({low}-{high} Hz); the answer was not used. Check the server's output format.",
            server=server,
            engine=engine,
            url=url,
            rate=rate,
        )


class RemoteEngine:
    """Base of the HTTP adapters: a client on the voice's URL, with its API key if it names one."""

    name: ClassVar[str] = ""  # each adapter's registered name (errors carry it as `engine`)
    label = "TTS server"
    needs_url = True
    voice_shapes: list[dict] = [{"properties": {"url": {"type": "string"}}, "required": ["url"]}]
    voice_fields: tuple[str, ...] = ("url", "speaker", "api_key_env", "speed")
    required_fields: tuple[str, ...] = ("url",)

    def __init__(self, voice: Voice, context: EngineContext) -> None:
        self.voice = voice
        self.context = context
        if not is_usable_url(voice.url or ""):  # a voice stored before URLs were checked whole
            raise InvalidVoiceError(
                f"URL {voice.url!r} of voice {voice.name!r} is not a usable http(s) URL; "
                "edit the voice.",
                voice=voice.name,
                url=voice.url,
            )
        self.client = TtsHttpClient(
            self.label,
            voice.url or "",
            context,
            api_key_header(voice, self.label, context.key_env_prefix),
            engine=self.name,
        )

    @classmethod
    def check_voice(cls, voice: Voice) -> None:
        if not voice.url:
            raise InvalidVoiceError(
                f"Voice {voice.name!r} uses {cls.label}: give the server's URL "
                "(--url http://host:port).",
                voice=voice.name,
                engine=cls.name,
                needs="url",
            )

    @classmethod
    def missing_reason(cls) -> str | None:
        return None

    def reference_bytes(self) -> tuple[str, bytes]:
        """The reference recording's file name and bytes; InvalidVoiceError if it is gone."""
        key = self.voice.reference_key
        storage = self.context.storage
        if key is None or storage is None or storage.stat(key) is None:
            raise InvalidVoiceError(
                f"Voice {self.voice.name!r} needs its reference audio, but asset "
                f"{self.voice.reference_asset_id!r} is missing. Add the voice again with "
                "--reference-audio.",
                voice=self.voice.name,
                asset_id=self.voice.reference_asset_id,
            )
        with storage.open_read(key) as stream:
            return PurePosixPath(key).name, stream.read()

    def decoded(self, decode, data: bytes) -> tuple[np.ndarray, int]:
        """`decode(data)`, with an empty or undecodable answer made a plain SpeechAudioError."""
        if not data:
            raise SpeechAudioError(
                f"{self.client.where} answered with an empty body instead of audio.",
                server=self.label,
                engine=self.name,
                url=self.client.base_url,
            )
        try:
            samples, rate = decode(data)
        except AudioDecodeError as exc:
            raise SpeechAudioError(
                f"{self.client.where} answered {len(data)} bytes that are not audio: {exc}.",
                server=self.label,
                engine=self.name,
                url=self.client.base_url,
                reason=str(exc),
            ) from exc
        check_rate(rate, self.label, self.client.base_url, self.name)
        if len(samples) < MIN_AUDIO_S * rate:
            raise SpeechAudioError(
                f"{self.client.where} answered {len(samples) / rate:.3f} s of audio: too short "
                "to be speech.",
                server=self.label,
                engine=self.name,
                url=self.client.base_url,
            )
        return samples, rate

    def close(self) -> None:
        self.client.close()
