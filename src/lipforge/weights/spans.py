"""Byte spans of one download: what is done, what each connection is fetching, and how an
idle connection takes over half of the largest remaining span (so no slow tail).

Thread-safe. Knows nothing of HTTP or files: the fetcher asks `reserve` how much of a
chunk it may write and where, then reports it with `commit`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

Span = tuple[int, int]  # [start, end) in bytes


@dataclass
class Segment:
    """One connection's share: bytes [start, end); [start, written) are in the .part file."""

    start: int
    end: int
    written: int
    reserved: int

    @property
    def remaining_bytes(self) -> int:
        return self.end - self.reserved


def merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def missing_spans(size_bytes: int, done: list[Span]) -> list[Span]:
    gaps, cursor = [], 0
    for start, end in merge_spans(done):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < size_bytes:
        gaps.append((cursor, size_bytes))
    return gaps


class SpanPlan:
    """Hands out segments to connections and tracks which bytes are on disk."""

    def __init__(
        self,
        size_bytes: int,
        done: list[Span],
        parts: int,
        min_split_bytes: int,
        max_piece_bytes: int | None = None,
    ):
        self.size_bytes = size_bytes
        self.min_split_bytes = max(1, min_split_bytes)
        self._lock = threading.Lock()
        self._done = merge_spans(done)
        self._active: list[Segment] = []
        self._pending = self._initial_segments(parts, max_piece_bytes)

    def _initial_segments(self, parts: int, max_piece_bytes: int | None) -> list[Segment]:
        """Pieces in file order (so the finished prefix grows), at most `parts` per gap-set."""
        gaps = missing_spans(self.size_bytes, self._done)
        todo = sum(e - s for s, e in gaps)
        piece = max(self.min_split_bytes, -(-todo // max(1, parts)))
        if max_piece_bytes:
            piece = max(self.min_split_bytes, min(piece, max_piece_bytes))
        segments = []
        for start, end in gaps:
            for s in range(start, end, piece):
                e = min(end, s + piece)
                segments.append(Segment(s, e, s, s))
        return segments

    def next_segment(self) -> Segment | None:
        """A pending segment, else half of the largest running one; None when nothing is left."""
        with self._lock:
            if self._pending:
                segment = self._pending.pop(0)
            else:
                segment = self._split_largest()
                if segment is None:
                    return None
            self._active.append(segment)
            return segment

    def _split_largest(self) -> Segment | None:
        victims = [s for s in self._active if s.remaining_bytes >= 2 * self.min_split_bytes]
        if not victims:
            return None
        victim = max(victims, key=lambda s: s.remaining_bytes)
        middle = victim.reserved + victim.remaining_bytes // 2
        stolen = Segment(middle, victim.end, middle, middle)
        victim.end = middle
        return stolen

    def reserve(self, segment: Segment, chunk_bytes: int) -> tuple[int, int]:
        """(offset, count): where the next `count` bytes of this segment's stream go."""
        with self._lock:
            count = max(0, min(chunk_bytes, segment.end - segment.reserved))
            offset = segment.reserved
            segment.reserved += count
            return offset, count

    def commit(self, segment: Segment, count: int) -> None:
        with self._lock:
            segment.written += count

    def rewind(self, segment: Segment) -> None:
        """After a failed attempt: hand out again from the last byte really written."""
        with self._lock:
            segment.reserved = segment.written

    def finish(self, segment: Segment) -> None:
        with self._lock:
            self._done = merge_spans([*self._done, (segment.start, segment.written)])
            self._active.remove(segment)
            if segment.written < segment.end:
                rest = Segment(segment.written, segment.end, segment.written, segment.written)
                self._pending.append(rest)

    def done_spans(self) -> list[Span]:
        with self._lock:
            live = [(s.start, s.written) for s in self._active]
            return merge_spans([*self._done, *live])

    def prefix_bytes(self) -> int:
        """How many bytes from offset 0 are finished."""
        spans = self.done_spans()
        return spans[0][1] if spans and spans[0][0] == 0 else 0

    def done_bytes(self) -> int:
        return sum(e - s for s, e in self.done_spans())

    @property
    def complete(self) -> bool:
        return self.done_bytes() >= self.size_bytes
