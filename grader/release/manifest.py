"""The release manifest (``release.json`` at the root of a student release): the grader version
it was built with, when, and a content hash over every other file, so that a student and the
instructor can tell they have the same release (`grader check` prints it)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

MANIFEST = "release.json"


def content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        if path != MANIFEST:
            digest.update(f"{path}\0{hashlib.sha256(files[path]).hexdigest()}\n".encode())
    return digest.hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_manifest(files: dict[str, bytes], version: str, created: str, assignments: dict[str, dict]) -> dict:
    return {"format": 1, "grader_version": version, "created": created, "content_hash": content_hash(files),
            "assignments": assignments, "files": len([p for p in files if p != MANIFEST])}


def read_manifest(root: Path) -> dict | None:
    """The manifest of the release at `root`; None where there is none (the course repository)."""
    try:
        data = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe(manifest: dict, installed: str) -> str:
    """One line: "release 1a2b3c4d5e6f of 2026-01-05 (grader 0.1.0)", warning on another grader."""
    line = (f"release {str(manifest.get('content_hash', '?'))[:12]} of {str(manifest.get('created', '?'))[:10]} "
            f"(grader {manifest.get('grader_version', '?')})")
    if manifest.get("grader_version") not in (None, installed):
        line += f"; the installed grader is {installed}: install the wheel in dist/ of this release"
    return line
