"""Errors of the storage room: the object store failed or refused an operation.

StorageError (503) is raised when the store cannot be reached or answers an error that
retrying later may fix; a key that names nothing is the shared NotFoundError.
"""

from __future__ import annotations

from lipforge.errors import LipforgeError


class StorageError(LipforgeError):
    """Raised when the object store fails an operation (unreachable, refused, out of space)."""

    code = "storage_unavailable"
    http_status = 503
    exit_code = 7
