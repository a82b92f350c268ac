"""Settings (env LIPFORGE_*) and the data-dir layout.

Settings are read once, at start, into a frozen dataclass that is passed down
explicitly; no module reads the environment on its own. This module does not create
anything on disk except through `DataDir.ensure()`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from lipforge.errors import ConfigError

GIB = 1024**3
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
OWN_ENV_PREFIX = "LIPFORGE_"
OWN_SECRET_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
)
ENV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class DataDir:
    """Where everything lives: lipforge.db, uploads/, assets/, inbox/, outputs/, models/, logs/."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "lipforge.db"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def ensure(self) -> DataDir:
        for path in (self.uploads, self.assets, self.inbox, self.outputs, self.models, self.logs):
            path.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class Settings:
    """Every tunable value, with its unit in its name. Env: LIPFORGE_<FIELD_NAME_UPPER>."""

    # the data dir: database, uploads, assets, inbox, outputs, models, logs
    data: Path = Path("./lipforge-data")
    database_url: str = ""  # empty: SQLite at <data>/lipforge.db
    host: str = DEFAULT_HOST  # address `serve` listens on; beyond loopback a token is required
    port: int = DEFAULT_PORT  # port `serve` listens on
    token: str = ""  # empty: generated on first non-loopback start, kept in the data dir
    # trust X-Forwarded-* (nginx, Caddy in front); a token is then required
    behind_proxy: bool = False
    # other origins whose pages may call the API (`*` for any; never with the cookie)
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # Host names an open server answers besides loopback
    auth_max_failures: int = 10  # failed logins/tokens per client address within the window
    # the window of `auth_max_failures`; then 429 with Retry-After
    auth_failure_window_s: float = 60.0
    session_max_age_s: float = 30 * 24 * 3600.0  # a browser login lasts this long
    header_timeout_s: float = 10.0  # a connection must finish sending its headers by then
    body_timeout_s: float = 30.0  # a request body (tus uploads aside) must arrive whole by then
    max_upload_bytes: int = 10 * GIB  # largest upload accepted (413 beyond)
    # below this free disk, uploads answer 507 and workers stop claiming
    min_free_disk_bytes: int = 1 * GIB
    upload_expiry_s: float = 24 * 3600.0  # unfinished uploads are removed after this long
    max_unfinished_uploads_per_token: int = 20  # unfinished uploads one token may hold (429 beyond)
    max_duration_s: float = 3 * 3600.0  # longest audio or video accepted
    max_resolution_px: int = 4096  # largest video width or height accepted
    face_search_s: float = 10.0  # how far into a video a face is looked for before it is refused
    inbox_settle_s: float = 3.0  # a dropped file is imported once unchanged this long
    output_retention_s: float = 7 * 24 * 3600.0  # finished outputs older than this are removed
    max_attempts: int = 3  # claims of one job before it fails as `worker lost`
    worker_slots: int = 1  # jobs one worker runs at once (one per GPU)
    metrics_port: int = 0  # 0: /metrics only on the API port; else also served alone on this port
    metrics_host: str = ""  # empty: the API's host (serve) or 127.0.0.1 (worker)
    speech_sample_rate: int = 24000  # every script's audio is resampled to this rate
    speech_pause_s: float = 0.35  # silence after a sentence (half of it after a comma cut)
    speech_concurrency: int = 2  # requests at once per voice (a voice may set its own)
    speech_loudness_lufs: float = -16.0  # EBU R128 integrated loudness of a script's audio
    speech_timeout_s: float = 60.0  # per request to a TTS server
    speech_attempts: int = 3  # tries per request to a TTS server (5xx, timeouts)
    # where asset and output bytes live: empty = the data dir; s3://bucket/prefix = a bucket
    storage_url: str = ""
    s3_endpoint_url: str = ""  # empty: boto3's own (AWS_ENDPOINT_URL, else AWS)
    s3_region: str = ""  # empty: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
    s3_access_key_id: str = ""  # empty: AWS_ACCESS_KEY_ID and boto3's other sources
    s3_secret_access_key: str = ""  # empty: AWS_SECRET_ACCESS_KEY and boto3's other sources
    s3_redirect_min_bytes: int = 0  # larger S3 downloads answer 307 to a presigned URL; 0 = never
    s3_presign_expiry_s: float = 300.0  # how long a presigned download URL stays valid
    s3_public_endpoint_url: str = ""  # the endpoint as clients reach it, for presigned URLs
    cache_max_bytes: int = 20 * GIB  # a worker's downloaded inputs (LRU by size)
    heygem_root: str = ""  # the HeyGem files' root, HeyGem's /code/data (empty: <data>/heygem)
    # client networks that may call the HeyGem ports without a token
    heygem_allow: tuple[str, ...] = ()
    # private networks or addresses HeyGem `*_url` inputs may be fetched from
    heygem_fetch_allow: tuple[str, ...] = ()
    heygem_max_fetch_bytes: int = 2 * GIB  # per audio_url / video_url download
    heygem_fetch_deadline_s: float = 3600.0  # a whole audio_url / video_url download
    heygem_fetch_min_rate_bps: float = 16 * 1024  # over 30 s windows
    speech_key_env_prefix: str = ""  # when set, a voice's API-key variable must start with it
    voice_url_allow: tuple[str, ...] = ()  # link-local/metadata networks voice URLs may reach
    heygem_forget: str = "failed"  # failed|all|none: finished codes answered once, then 10004
    heygem_voice: str = ""  # /v1/invoke's voice (empty: espeak by the text's language)
    # a transcription server (OpenAI's /v1/audio/transcriptions: faster-whisper-server,
    # whisper.cpp, SenseVoice/FunASR wrappers) for audio that comes without its words
    transcribe_url: str = ""  # the base URL ending in /v1; empty: no server
    transcribe_model: str = "whisper-1"  # the `model` field sent with each piece
    transcribe_api_key_env: str = ""  # the NAME of the variable holding its key; empty: none
    transcribe_language: str = ""  # ISO-639-1 hint ("en", "zh"); empty: the server detects it
    transcribe_timeout_s: float = 120.0  # overall deadline of one piece's request

    def __post_init__(self) -> None:
        if self.transcribe_url and not self.transcribe_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"Config 'LIPFORGE_TRANSCRIBE_URL' has value {self.transcribe_url!r}. Give the "
                "server's base URL ending in /v1, like http://asr-box:8000/v1.",
                setting="LIPFORGE_TRANSCRIBE_URL",
            )
        if self.transcribe_api_key_env:
            check_api_key_env(self.transcribe_api_key_env, "LIPFORGE_TRANSCRIBE_API_KEY_ENV")

    @property
    def data_dir(self) -> DataDir:
        return DataDir(self.data.expanduser().resolve())

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.database}"

    def with_overrides(self, **values: object) -> Settings:
        """A copy with the given fields replaced; `None` values are ignored (unset CLI options)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"LIPFORGE_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, f.type)
        if "LIPFORGE_DATA" in env:
            values["data"] = Path(env["LIPFORGE_DATA"])
        return cls(**values)


def is_own_secret_variable(name: str) -> bool:
    """True for LipForge's own settings and token (LIPFORGE_*) and the S3 credentials."""
    return name.upper().startswith(OWN_ENV_PREFIX) or name.upper() in OWN_SECRET_VARIABLES


def check_api_key_env(name: str, setting: str) -> None:
    """Refuse a key variable name that is not a name, or that is one of LipForge's own settings.

    A setting that names "the variable holding a key" must not point at LIPFORGE_TOKEN,
    another LIPFORGE_* value or the S3 credentials: that would send LipForge's own secrets to
    a remote server. (speech/voices.py's `check_key_variable` says the same for voices.)
    """
    if not ENV_VAR_NAME.match(name):
        raise ConfigError(
            f"Config {setting!r} has value {name[:4]!r}... It takes the NAME of an environment "
            "variable (like ASR_API_KEY), not the key itself.",
            setting=setting,
        )
    if is_own_secret_variable(name):
        raise ConfigError(
            f"Config {setting!r} names {name}, one of LipForge's own settings or credentials. "
            "Put the key in a variable of its own (like ASR_API_KEY).",
            setting=setting,
            variable=name,
        )


def _parse(name: str, raw: str, type_name: object) -> object:
    type_text = str(type_name)
    label = f"Config 'LIPFORGE_{name.upper()}' has value {raw!r}."
    try:
        if type_text == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError
        if type_text == "int":
            return int(raw)
        if type_text == "float":
            return float(raw)
        if type_text == "Path":
            return Path(raw)
        if type_text.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{label} Not a valid {type_text}.") from exc
    return raw


__all__ = ["DataDir", "Settings", "check_api_key_env", "GIB", "DEFAULT_HOST", "DEFAULT_PORT"]
