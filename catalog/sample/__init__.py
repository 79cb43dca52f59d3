"""The sample catalogue shipped with TechConnect: what the demo and a new deployment show.

Its organizations are fictional. Many entries are written in several languages, which also
makes them parallel text for measuring how each language shifts an embedding.
"""

from __future__ import annotations

from pathlib import Path

from catalog.io import read_records
from catalog.model import Record

SAMPLE_DIR = Path(__file__).parent
SAMPLE_FILES = (SAMPLE_DIR / "offers.jsonl", SAMPLE_DIR / "requests.jsonl")


def sample_records() -> list[Record]:
    return [record for path in SAMPLE_FILES for record in read_records(path)]
