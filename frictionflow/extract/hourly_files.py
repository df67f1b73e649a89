"""Hourly gzip JSON Lines drops (web and app analytics), read line by line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from frictionflow.load import Delivered


def expected_files(landing_dir: Path, path_pattern: str, business_date: date) -> list[Path]:
    return [landing_dir / path_pattern.format(business_date=business_date.isoformat(), hour=h) for h in range(24)]


def read_jsonl_gz(path: Path, location: str) -> Iterator[Delivered]:
    """Every line of the file; a line that is not a JSON object comes back with its parse error."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\n")
            if not text.strip():
                yield Delivered(location, number, raw_text=text, parse_error="empty line")
                continue
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Delivered(
                    location, number, raw_text=text, parse_error=f"invalid JSON: {exc.msg} at column {exc.colno}"
                )
                continue
            if not isinstance(payload, dict):
                yield Delivered(location, number, raw_text=text, parse_error="a JSON value that is not an object")
                continue
            yield Delivered(location, number, payload=payload, raw_text=text)
