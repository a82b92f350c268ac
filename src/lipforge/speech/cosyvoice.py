"""The `cosyvoice` speech engine: CosyVoice's FastAPI server (runtime/python/fastapi/server.py).

That server takes form fields and answers raw 16-bit little-endian PCM with no header, at
the model's rate (22050 Hz for CosyVoice-300M, 24000 Hz for CosyVoice2), which the voice
states (`--sample-rate`). Some builds add an `X-Custom-Header-sampleRate` header; when it
disagrees with the voice, the voice is wrong and we say so instead of playing the audio
at the wrong speed. Modes (the voice's `mode` option, else picked from what it has):
  sft            POST /inference_sft             tts_text, spk_id
  zero_shot      POST /inference_zero_shot       tts_text, prompt_text, prompt_wav (file)
  cross_lingual  POST /inference_cross_lingual   tts_text, prompt_wav
  instruct2      POST /inference_instruct2       tts_text, instruct_text, prompt_wav
"""

from __future__ import annotations

from typing import ClassVar

from lipforge.speech.audio import pcm16_to_samples
from lipforge.speech.engines import NON_EMPTY_TEXT, Utterance, register_speech_engine
from lipforge.speech.errors import InvalidVoiceError, SpeechAudioError
from lipforge.speech.httpclient import answer_limit_bytes
from lipforge.speech.remote import RemoteEngine
from lipforge.speech.voices import Voice

MODES = ("sft", "zero_shot", "cross_lingual", "instruct2")
_SERVER = {"url": {"type": "string"}, "sample_rate": {"type": "integer"}}
_NEEDS = ["url", "sample_rate"]


def _mode(values: list, required: bool) -> dict:
    shape = {"type": "object", "properties": {"mode": {"enum": values}}}
    return {**shape, "required": ["mode"]} if required else shape


def _shape(options: dict, **needs: dict) -> dict:
    properties = {**_SERVER, **needs, "options": options}
    required = [*_NEEDS, *needs] + (["options"] if options.get("required") else [])
    return {"properties": properties, "required": required}


VOICE_SHAPES = [  # as `voice_mode` picks the mode and `check_voice` checks what it needs
    _shape(_mode([None, ""], False), speaker=NON_EMPTY_TEXT),
    _shape(_mode([None, ""], False), reference_asset_id=NON_EMPTY_TEXT),
    _shape(_mode(["sft"], True), speaker=NON_EMPTY_TEXT),
    _shape(
        _mode(["zero_shot"], True),
        reference_asset_id=NON_EMPTY_TEXT,
        reference_text=NON_EMPTY_TEXT,
    ),
    _shape(_mode(["cross_lingual", "instruct2"], True), reference_asset_id=NON_EMPTY_TEXT),
]
RATE_HEADER = "X-Custom-Header-sampleRate"


def voice_mode(voice: Voice) -> str:
    mode = voice.options.get("mode")
    if mode:
        return mode
    if voice.options.get("instruct") and voice.reference_asset_id:
        return "instruct2"
    if voice.reference_asset_id:
        return "zero_shot" if voice.reference_text else "cross_lingual"
    return "sft"


@register_speech_engine
class CosyVoiceEngine(RemoteEngine):
    name: ClassVar[str] = "cosyvoice"
    label = "CosyVoice"
    languages: ClassVar[tuple[str, ...]] = ("zh", "en", "ja", "ko", "yue")
    max_input_chars: ClassVar[int] = 300
    voice_shapes: ClassVar[list[dict]] = VOICE_SHAPES
    voice_fields: ClassVar[tuple[str, ...]] = (
        "url",
        "sample_rate",
        "options.mode",
        "speaker",
        "reference_asset_id",
        "reference_text",
        "options.instruct",
        "api_key_env",
        "speed",
    )
    required_fields: ClassVar[tuple[str, ...]] = ("url", "sample_rate")

    @classmethod
    def check_voice(cls, voice: Voice) -> None:
        super().check_voice(voice)
        mode = voice_mode(voice)
        needs = {
            "sft": ("speaker", "--speaker (a spk_id of the model, e.g. 中文女)"),
            "zero_shot": ("reference_text", "--reference-audio and --reference-text"),
            "cross_lingual": ("reference_asset_id", "--reference-audio"),
            "instruct2": ("reference_asset_id", "--reference-audio and an instruct option"),
        }
        if mode not in needs:
            raise InvalidVoiceError(
                f"CosyVoice mode {mode!r} is not one of: {', '.join(MODES)}.",
                voice=voice.name,
                mode=mode,
            )
        field, hint = needs[mode]
        if not getattr(voice, field) or (mode == "zero_shot" and not voice.reference_asset_id):
            raise InvalidVoiceError(
                f"CosyVoice voice {voice.name!r} in mode {mode} needs {hint}.",
                voice=voice.name,
                mode=mode,
                needs=field if not getattr(voice, field) else "reference_asset_id",
            )
        if not voice.sample_rate:
            raise InvalidVoiceError(
                f"CosyVoice answers raw PCM at its model's rate: state it with --sample-rate "
                f"(22050 for CosyVoice-300M, 24000 for CosyVoice2) for voice {voice.name!r}.",
                voice=voice.name,
                needs="sample_rate",
            )

    def synthesize(self, text: str, language: str) -> Utterance:
        mode = voice_mode(self.voice)
        form = {"tts_text": text}
        files = None
        if mode == "sft":
            form["spk_id"] = self.voice.speaker or ""
        else:
            name, data = self.reference_bytes()
            files = {"prompt_wav": (name, data, "application/octet-stream")}
            if mode == "zero_shot":
                form["prompt_text"] = self.voice.reference_text or ""
            if mode == "instruct2":
                form["instruct_text"] = self.voice.options.get("instruct", "")
        response = self.client.post(
            f"/inference_{mode}", answer_limit_bytes(text), data=form, files=files
        )
        rate = int(self.voice.sample_rate or 22050)
        self._check_rate(response.headers.get(RATE_HEADER), rate)
        samples, rate = self.decoded(lambda body: (pcm16_to_samples(body), rate), response.content)
        return Utterance(samples, rate, None)

    def _check_rate(self, header: str | None, stated: int) -> None:
        if header is None or not header.strip().isdigit() or int(header) == stated:
            return
        raise SpeechAudioError(
            f"{self.client.where} speaks at {int(header)} Hz but voice {self.voice.name!r} "
            f"states {stated} Hz; the audio would play at the wrong speed. Set the voice's "
            f"sample rate to {int(header)}.",
            server=self.label,
            engine=self.name,
            url=self.client.base_url,
            rate=int(header),
            stated_rate=stated,
        )
