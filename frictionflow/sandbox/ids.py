"""Identifiers that look like the real systems' and are unique by construction (never by luck)."""

from __future__ import annotations

import numpy as np

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_SPACE = 62**8
# Multiplying by a number coprime with 62 permutes [0, 62^8): sequential numbers look scattered yet never collide.
_SCRAMBLE = 2_654_435_761
_OFFSET = 91_438_702_177


def salesforce_ids(prefix: str, numbers: np.ndarray | list[int]) -> list[str]:
    """18-character CRM ids like 003Kd00000AbCdEfGH: 3-char object prefix, pod 'Kd', zeros, 8 scrambled chars."""
    values = [(int(n) * _SCRAMBLE + _OFFSET) % _SPACE for n in np.asarray(numbers, np.int64).tolist()]
    arr = np.array(values, np.int64)
    digits = np.empty((len(arr), 8), np.uint8)
    for position in range(7, -1, -1):
        digits[:, position] = _BASE62[arr % 62]
        arr //= 62
    head = f"{prefix}Kd00000"
    return [head + s for s in digits.view("S8").ravel().astype(str).tolist()]


def uuid4s(rng: np.random.Generator, n: int) -> list[str]:
    """n random version-4 UUID strings drawn from rng (deterministic, unlike uuid.uuid4)."""
    raw = np.frombuffer(rng.bytes(16 * n), np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = raw.tobytes().hex()
    out = []
    for i in range(n):
        h = hexed[32 * i : 32 * i + 32]
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def order_no(year: int, day_of_year: int, seq: int) -> str:
    """SO-YYYY-DDDNNNNN: web and app orders number from 00001 within the day the journey started."""
    return f"SO-{year}-{day_of_year:03d}{seq:05d}"
