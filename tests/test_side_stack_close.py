"""A retraining's evaluation stack (engine, actions, API in their own sessions) stops with
the process that runs the training, even while it is still starting: nothing of it may
outlive an API that is shut down mid-training.

Real processes on the prepared model; each test stops them within seconds of spawning
(no model is loaded to the end).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from iara.admin import releases
from iara.admin.retrain import SideStack, Trainer
from iara.settings import Settings, get_settings
from iara.stack import StackError
from iara.training import model_path
from tests.conftest import stack_test_settings

pytestmark = pytest.mark.stack


def processes_of(workdir: Path) -> list[int]:
    """Live processes whose command line or environment names ``workdir`` (the side
    stack's databases, var and model all live there)."""
    needle = str(workdir).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            if "\nState:\tZ" in status:  # exited, not yet reaped by its parent
                continue
            if needle in (proc / "cmdline").read_bytes() or needle in (
                    proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not reached in {timeout:.0f} s")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """The side stack's folder; whatever still runs from it when the test ends (a failed
    test) is killed, so a failure does not leave the orphans it is about."""
    yield tmp_path / "eval"
    for pid in processes_of(tmp_path / "eval"):
        os.kill(pid, signal.SIGKILL)


def side_settings(tmp: Path) -> Settings:
    """The test stack's settings with a var/ of its own (the training lock and releases
    go there) that sees the checkout's prepared models."""
    var = tmp / "var"
    var.mkdir()
    (var / "models").symlink_to(get_settings().models_dir.resolve(), target_is_directory=True)
    settings = stack_test_settings(tmp, var_dir=var)
    assert model_path(settings).exists(), "run iara prepare first"
    return settings


def start_side_stack(settings: Settings, workdir: Path) -> SideStack:
    side = SideStack(settings, workdir)
    side.start_with(releases.live_release(settings), settings.knowledge_dir / "dev.yml",
                    measure=False)
    return side


def test_closing_while_it_starts_leaves_no_process(tmp_path: Path, workdir: Path) -> None:
    settings = side_settings(tmp_path)
    side = start_side_stack(settings, workdir)
    side.close()  # the boot thread may be spawning its processes right now

    wait_until(lambda: not processes_of(workdir), timeout=30)
    with pytest.raises(RuntimeError, match="evaluation stack failed"):
        side.baseline()  # the boot thread ends with an error, it does not wait it out
    assert isinstance(side._error, StackError)
    time.sleep(2)  # nothing is spawned after the close
    assert processes_of(workdir) == []


def test_api_shutdown_stops_a_trainings_evaluation_stack(tmp_path: Path,
                                                         workdir: Path) -> None:
    settings = side_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        trainer = Trainer(settings, client.app.state.db)  # type: ignore[attr-defined]
        client.app.state.trainer = trainer  # type: ignore[attr-defined]
        # What _pipeline does once a training has set up its evaluation stack.
        trainer._side = side = start_side_stack(settings, workdir)
        wait_until(lambda: len(processes_of(workdir)) >= 3)
        assert client.get("/health").status_code in (200, 503)
    # The lifespan's shutdown has run: the engine, actions and API are gone.
    wait_until(lambda: not processes_of(workdir), timeout=30)
    with pytest.raises(RuntimeError, match="evaluation stack failed"):
        side.baseline()
