"""The `openai` speech engine: `POST /v1/audio/speech` as OpenAI defines it, which ChatTTS's
and many other servers' OpenAI-compatible routes answer too.

JSON body: `model` (the voice's model, default tts-1), `input`, `voice` (the voice's
speaker, default alloy), `response_format` ("wav" unless the voice says otherwise; "pcm"
is raw 16-bit at 24 kHz, or the voice's stated rate), `speed`. The key is sent as
`Authorization: Bearer` from the voice's api_key_env. Errors come as
`{"error": {"message", "type", "code"}}`. A URL that already ends in /v1 is used as is.
"""

from __future__ import annotations

from typing import ClassVar

from lipforge.speech.audio import any_audio_to_samples, pcm16_to_samples
from lipforge.speech.engines import Utterance, register_speech_engine
from lipforge.speech.httpclient import answer_limit_bytes
from lipforge.speech.remote import RemoteEngine

PCM_RATE = 24000


@register_speech_engine
class OpenAISpeechEngine(RemoteEngine):
    name: ClassVar[str] = "openai"
    label = "OpenAI-compatible TTS"
    languages: ClassVar[tuple[str, ...]] = ("*",)
    max_input_chars: ClassVar[int] = 4096

    def synthesize(self, text: str, language: str) -> Utterance:
        response_format = self.voice.options.get("response_format") or "wav"
        body = {
            "model": self.voice.model or "tts-1",
            "input": text,
            "voice": self.voice.speaker or "alloy",
            "response_format": response_format,
            "speed": self.voice.speed,
        }
        path = "/audio/speech" if self.client.base_url.endswith("/v1") else "/v1/audio/speech"
        response = self.client.post(path, answer_limit_bytes(text), json=body)
        if response_format == "pcm":
            rate = int(self.voice.sample_rate or PCM_RATE)
            samples, rate = self.decoded(lambda b: (pcm16_to_samples(b), rate), response.content)
        else:
            samples, rate = self.decoded(any_audio_to_samples, response.content)
        return Utterance(samples, rate, None)
