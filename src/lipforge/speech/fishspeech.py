"""The `fish-speech` speech engine: fish-speech's API server `POST /v1/tts` (tools/server/views.py).

The request is `ServeTTSRequest` (fish_speech/utils/schema.py) as JSON: `text`, `format`
"wav", `references` [{audio (base64), text}] for cloning from the voice's reference
recording, or `reference_id` (the voice's speaker) for a voice stored on the server;
`normalize` on (numbers in zh/en). It answers a WAV at the decoder's rate. Errors come as
`{"statusCode", "message", "error"}` (tools/server/exception_handler.py). With `--api-key`
the server wants `Authorization: Bearer <key>`: the voice's api_key_env.
"""

from __future__ import annotations

import base64
from typing import ClassVar

from lipforge.speech.audio import wav_to_samples
from lipforge.speech.engines import Utterance, register_speech_engine
from lipforge.speech.httpclient import answer_limit_bytes
from lipforge.speech.remote import RemoteEngine


@register_speech_engine
class FishSpeechEngine(RemoteEngine):
    name: ClassVar[str] = "fish-speech"
    label = "fish-speech"
    languages: ClassVar[tuple[str, ...]] = ("zh", "en", "ja", "ko", "fr", "de", "es", "ar", "ru")
    max_input_chars: ClassVar[int] = 500

    def synthesize(self, text: str, language: str) -> Utterance:
        body: dict = {"text": text, "format": "wav", "normalize": True, "references": []}
        if self.voice.reference_asset_id:
            _, data = self.reference_bytes()
            body["references"] = [
                {"audio": base64.b64encode(data).decode(), "text": self.voice.reference_text or ""}
            ]
        elif self.voice.speaker:
            body["reference_id"] = self.voice.speaker
        if "seed" in self.voice.options:
            body["seed"] = int(self.voice.options["seed"])
        response = self.client.post("/v1/tts", answer_limit_bytes(text), json=body)
        samples, rate = self.decoded(wav_to_samples, response.content)
        return Utterance(samples, rate, None)
