"""Releases: a Rasa model, an index folder, the knowledge snapshot it was built from and
the encoder that embedded it, deployed together, with one previous release kept for
rollback.

```
<var_dir>/releases/<id>/models/iara.tar.gz   the release's Rasa model
<var_dir>/releases/<id>/knowledge/           the knowledge it was trained on (a snapshot)
<var_dir>/releases/<id>/index/               its index (versioned folder)
<var_dir>/releases/state.json                {"current": {...}, "previous": {...}}
<var_dir>/release-current.json               what the action server serves: index,
                                             knowledge and encoder of the live release
```
Before the first deploy the live release is the prepared model, index and encoder of
``var/`` and the configured ``knowledge/``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iara.settings import Settings
from iara.training import model_path

POINTER = "release-current.json"
KEPT_OTHERS = 3  # newest releases kept besides the live and the previous one


@dataclass(frozen=True)
class Served:
    """What the action server should answer from: one consistent set of paths."""

    id: str
    index: Path
    knowledge: Path
    encoder: tuple[str, str] | None  # (location, name); None: the configured encoder


def releases_dir(settings: Settings) -> Path:
    return settings.var_dir / "releases"


def _state_path(settings: Settings) -> Path:
    return releases_dir(settings) / "state.json"


def read_state(settings: Settings) -> dict[str, Any]:
    path = _state_path(settings)
    if not path.exists():
        return {"current": None, "previous": None}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_state(settings: Settings, state: dict[str, Any]) -> None:
    _atomic_write(_state_path(settings), json.dumps(state, indent=2, ensure_ascii=False))


def initial_release(settings: Settings) -> dict[str, Any]:
    from iara.admin.retrain import fingerprint, structure, training_files
    from iara.training import is_model_stale

    # The prints (as retraining computes them) of the prepared model, when the exported
    # NLU in var/ is still the one it was trained on.
    fresh = not is_model_stale(settings)
    files = training_files(settings, settings.generated_nlu_dir) if fresh else []
    return {"id": "inicial", "model": str(model_path(settings)),
            "index": str(settings.index_path), "knowledge": str(settings.knowledge_dir),
            "encoder": None, "metrics": None,
            "fingerprint": fingerprint(files) if fresh else None,
            "structure": structure(files) if fresh else None}


def live_release(settings: Settings) -> dict[str, Any]:
    current: dict[str, Any] | None = read_state(settings).get("current")
    return current or initial_release(settings)


def known_releases(settings: Settings) -> list[dict[str, Any]]:
    """The live release and the one kept for rollback (whose files still exist)."""
    state = read_state(settings)
    found = [r for r in (state.get("current"), state.get("previous")) if r]
    return [r for r in found if Path(r["model"]).exists()]


def current_model(settings: Settings) -> Path:
    """The model the engine should load at start: the deployed release's, if any (read
    from the state alone: the initial release's training prints are not needed here)."""
    deployed = read_state(settings).get("current")
    model = Path(deployed["model"]) if deployed else model_path(settings)
    return model if model.exists() else model_path(settings)


def pointer_path(settings: Settings) -> Path:
    return settings.var_dir / POINTER


def served(settings: Settings) -> Served:
    """The index, knowledge and encoder the action server should use now: those of the
    pointer, else the configured ones."""
    default = Served("inicial", settings.index_path, settings.knowledge_dir, None)
    try:
        data = json.loads(pointer_path(settings).read_text(encoding="utf-8"))
        index, knowledge = Path(data["index"]), Path(data["knowledge"])
        encoder = tuple(data["encoder"]) if data.get("encoder") else None
    except (OSError, ValueError, KeyError, TypeError):
        return default
    if not (index / "manifest.json").exists() or not knowledge.is_dir():
        return default
    return Served(str(data.get("id", "?")), index, knowledge,
                  (str(encoder[0]), str(encoder[1])) if encoder else None)


def current_index(settings: Settings) -> Path:
    """The index folder the action server should serve (the pointer, else the setting)."""
    return served(settings).index


def point_to(settings: Settings, release: dict[str, Any]) -> None:
    """Make the action server follow ``release`` (one atomic file replace)."""
    _atomic_write(pointer_path(settings), json.dumps({
        "id": release["id"], "index": str(release["index"]),
        "knowledge": str(release.get("knowledge") or settings.knowledge_dir),
        "encoder": release.get("encoder")}, ensure_ascii=False))


def prune(settings: Settings, keep: int = KEPT_OTHERS) -> list[str]:
    """Delete the folders of old releases: the live one, the one kept for rollback and
    the ``keep`` newest others (rejected candidates, for inspection) stay. Their
    training reports stay in the history either way. Returns the deleted ids."""
    state = read_state(settings)
    kept = [r for r in (state.get("current"), state.get("previous")) if r]
    root = releases_dir(settings)
    # An embedding model stays in the folder of the release that fine-tuned it; the
    # releases after it (incremental ones) embed with it from there.
    protected = {r["id"] for r in kept} | {
        Path(r["encoder"][0]).resolve().relative_to(root.resolve()).parts[0] for r in kept
        if r.get("encoder") and Path(r["encoder"][0]).resolve().is_relative_to(root.resolve())}
    others = sorted((d for d in root.iterdir() if d.is_dir() and d.name not in protected),
                    key=lambda d: d.stat().st_mtime, reverse=True) if root.is_dir() else []
    for folder in others[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return [d.name for d in others[keep:]]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
