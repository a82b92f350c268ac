"""The S3-compatible store (`LIPFORGE_STORAGE_URL=s3://bucket/prefix`), through boto3.

Endpoint, region and keys come from `LIPFORGE_S3_*` when set, else from boto3's usual
sources (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
~/.aws). Addressing is path-style, which every self-hosted server (SeaweedFS, MinIO,
Ceph RGW, Garage) answers; checksums are only sent where the API requires them, since
not all of those servers accept the newer CRC headers.

Presigned download links name `LIPFORGE_S3_PUBLIC_ENDPOINT_URL` when it is set (the
endpoint as clients reach it, e.g. through a proxy that keeps the Host header), else the
endpoint the server uses.

Every write is a multipart upload: parts go up in parallel while the object stays
invisible; `commit` completes the upload (the object appears whole, at once) and
`abort` drops the parts. An upload whose writer died is never visible and is removed by
`abort_stale_uploads`. Reads are ranged GETs; `download` fetches ranges in parallel.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lipforge.config import Settings
from lipforge.errors import ConfigError, NotFoundError
from lipforge.logs import log_event
from lipforge.metrics import record_storage_error
from lipforge.storage.backend import ObjectInfo, ObjectReader, check_key, register_storage
from lipforge.storage.errors import StorageError

MIB = 1024 * 1024
PART_BYTES = 16 * MIB  # at least S3's 5 MiB minimum; larger files get larger parts
MAX_PARTS = 10_000
TRANSFER_THREADS = 4
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0
MAX_RETRIES = 5
DEFAULT_REGION = "us-east-1"
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); ConfigError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"Config 'LIPFORGE_STORAGE_URL' has value {url!r}. Use s3://bucket or "
            "s3://bucket/prefix.",
            url=url,
        )
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def part_size_for(size_bytes: int) -> int:
    """The part size that keeps a file of `size_bytes` within S3's 10,000 parts."""
    needed = -(-size_bytes // MAX_PARTS)
    return max(PART_BYTES, -(-needed // MIB) * MIB)


@dataclass
class S3StagedUpload:
    """A multipart upload whose parts are all in the bucket; invisible until `commit`."""

    key: str
    source: Path
    move: bool
    storage: S3Storage
    upload_id: str
    parts: list[dict] = field(default_factory=list)
    done: bool = False

    def commit(self) -> None:
        if self.done:
            return
        with self.storage.translated("publish", self.key):
            self.storage.client.complete_multipart_upload(
                Bucket=self.storage.bucket,
                Key=self.storage.full_key(self.key),
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        self.done = True
        if self.move:
            self.source.unlink(missing_ok=True)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(ClientError, BotoCoreError):
            self.storage.client.abort_multipart_upload(
                Bucket=self.storage.bucket,
                Key=self.storage.full_key(self.key),
                UploadId=self.upload_id,
            )


@register_storage
class S3Storage:
    """Objects in one bucket, below one key prefix."""

    scheme: ClassVar[str] = "s3"

    def __init__(self, client, bucket: str, prefix: str, endpoint: str, presigner=None) -> None:
        self.client, self.bucket, self.prefix, self.endpoint = client, bucket, prefix, endpoint
        self.presigner = presigner or client  # signs links for the endpoint clients reach
        self.transfer = TransferConfig(
            multipart_threshold=PART_BYTES,
            multipart_chunksize=PART_BYTES,
            max_concurrency=TRANSFER_THREADS,
        )

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> S3Storage:
        bucket, prefix = parse_s3_url(url)
        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            retries={"max_attempts": MAX_RETRIES, "mode": "standard"},
            max_pool_connections=4 * TRANSFER_THREADS,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            region_name=settings.s3_region or None,
        )
        region = settings.s3_region or session.region_name or DEFAULT_REGION
        client = session.client(
            "s3", endpoint_url=settings.s3_endpoint_url or None, region_name=region, config=config
        )
        presigner = None
        if public := settings.s3_public_endpoint_url:
            presigner = session.client("s3", endpoint_url=public, region_name=region, config=config)
        return cls(client, bucket, prefix, client.meta.endpoint_url, presigner)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"

    def full_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextlib.contextmanager
    def translated(self, action: str, key: str) -> Iterator[None]:
        """Turn boto errors into NotFoundError (no such key) or StorageError (anything else)."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in MISSING_CODES:
                raise NotFoundError(f"{key} is no longer in the object store.", key=key) from exc
            reason = error.get("Message") or code
            self._raise(action, key, f"{code}: {reason}", exc)
        except BotoCoreError as exc:
            self._raise(action, key, str(exc), exc)

    def _raise(self, action: str, key: str, reason: str, exc: Exception) -> None:
        log_event("storage.error", 40, action=action, key=key, error=reason)
        record_storage_error(action)
        raise StorageError(
            f"The object store ({self.describe()}) failed to {action} {key}: {reason}",
            action=action,
            key=key,
            reason=reason,
        ) from exc

    def stage_file(self, source: Path, key: str, move: bool = False) -> S3StagedUpload:
        full_key = self.full_key(key)
        with self.translated("upload", key):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full_key)[
                "UploadId"
            ]
        staged = S3StagedUpload(key, source, move, self, upload_id)
        try:
            staged.parts = self._upload_parts(source, full_key, upload_id, key)
        except BaseException:
            staged.abort()
            raise
        return staged

    def _upload_parts(self, source: Path, full_key: str, upload_id: str, key: str) -> list[dict]:
        size_bytes = source.stat().st_size
        part_bytes = part_size_for(size_bytes)
        offsets = list(range(0, size_bytes, part_bytes)) or [0]
        fd = os.open(source, os.O_RDONLY)
        try:

            def send(number: int) -> dict:
                body = os.pread(fd, part_bytes, offsets[number - 1])
                with self.translated("upload", key):
                    answer = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=full_key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=body,
                    )
                return {"PartNumber": number, "ETag": answer["ETag"]}

            with ThreadPoolExecutor(TRANSFER_THREADS, thread_name_prefix="s3-part") as pool:
                return list(pool.map(send, range(1, len(offsets) + 1)))
        finally:
            os.close(fd)

    def stat(self, key: str) -> ObjectInfo | None:
        full_key = self.full_key(key)
        try:
            with self.translated("look up", key):
                head = self.client.head_object(Bucket=self.bucket, Key=full_key)
        except NotFoundError:
            return None
        modified = head["LastModified"].astimezone(UTC)
        return ObjectInfo(key, int(head["ContentLength"]), modified, head.get("ETag", ""))

    def local_path(self, key: str) -> Path | None:
        return None

    def download(self, key: str, target: Path) -> None:
        with self.translated("download", key):
            self.client.download_file(
                self.bucket, self.full_key(key), str(target), Config=self.transfer
            )

    def open_read(self, key: str, start: int = 0, length: int | None = None) -> ObjectReader:
        if length == 0:
            return _Empty()
        ranged = {}
        if start or length is not None:  # no Range for the whole: an empty object has no bytes=0-
            end = "" if length is None else str(start + length - 1)
            ranged["Range"] = f"bytes={start}-{end}"
        with self.translated("read", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), **ranged)
        return answer["Body"]

    def delete(self, key: str) -> None:
        with self.translated("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def presigned_url(self, key: str, expires_s: float, download_name: str) -> str | None:
        disposition = f"inline; filename*=UTF-8''{quote(download_name)}"
        with self.translated("sign a link to", key):
            return self.presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.full_key(key),
                    "ResponseContentDisposition": disposition,
                },
                ExpiresIn=int(expires_s),
            )

    def abort_stale_uploads(self, older_than_s: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        aborted = 0
        with self.translated("list uploads under", self.prefix or "/"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].astimezone(UTC) > cutoff:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted


class _Empty:
    def read(self, size: int = -1, /) -> bytes:
        return b""

    def close(self) -> None:
        return None

    def __enter__(self) -> _Empty:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
