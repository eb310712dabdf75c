"""Releases: a Rasa model and an index folder deployed together, with one previous
release kept for rollback.

```
<var_dir>/releases/<id>/models/iara.tar.gz   the release's Rasa model
<var_dir>/releases/<id>/index/               its index (versioned folder)
<var_dir>/releases/state.json                {"current": {...}, "previous": {...}}
<var_dir>/index-current                      the index folder the action server serves
```
Before the first deploy the live release is the prepared model and index of ``var/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from iara.settings import Settings
from iara.training import model_path

POINTER = "index-current"


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
    return {"id": "inicial", "model": str(model_path(settings)),
            "index": str(settings.index_path), "metrics": None, "fingerprint": None}


def live_release(settings: Settings) -> dict[str, Any]:
    current: dict[str, Any] | None = read_state(settings).get("current")
    return current or initial_release(settings)


def current_model(settings: Settings) -> Path:
    """The model the engine should load at start: the deployed release's, if any."""
    model = Path(live_release(settings)["model"])
    return model if model.exists() else model_path(settings)


def current_index(settings: Settings) -> Path:
    """The index folder the action server should serve (the pointer, else the setting)."""
    pointer = settings.var_dir / POINTER
    try:
        target = Path(pointer.read_text(encoding="utf-8").strip())
    except OSError:
        return settings.index_path
    return target if (target / "manifest.json").exists() else settings.index_path


def point_index(settings: Settings, index: Path) -> None:
    _atomic_write(settings.var_dir / POINTER, str(index))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
