"""``iara eval nlu`` draws the same folds for the same data and seed (engine env)."""

from __future__ import annotations

import subprocess

import pytest

from iara.settings import get_settings
from iara.training import _SEEDED_RASA, ENGINE_ENV

pytestmark = pytest.mark.model

# Rasa's own fold generator on 60 examples of 3 intents, under the seeded entry point's
# first statement; rasa's CLI is replaced by printing the test indices of each fold.
_FOLDS = _SEEDED_RASA.replace(
    "from rasa.__main__ import main; main()",
    "from rasa.nlu.test import generate_folds; "
    "from rasa.shared.nlu.training_data.message import Message; "
    "from rasa.shared.nlu.training_data.training_data import TrainingData; "
    "data = TrainingData([Message({'text': f't{i}', 'intent': f'i{i % 3}'}) "
    "for i in range(60)]); "
    "print([sorted(m.get('text') for m in test.training_examples) "
    "for _, test in generate_folds(5, data)])")


def _folds(seed: int) -> str:
    python = get_settings().engine_venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the engine environment is missing ({python}); run 'make setup'")
    result = subprocess.run([str(python), "-c", _FOLDS, str(seed)], capture_output=True,
                            text=True, env={**ENGINE_ENV, "PATH": "/usr/bin:/bin"},
                            timeout=300, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_the_same_seed_draws_the_same_folds_and_another_seed_others() -> None:
    first = _folds(0)
    assert first == _folds(0)
    assert first != _folds(1)


def test_the_seeded_entry_point_runs_rasa_with_the_remaining_arguments() -> None:
    rasa = get_settings().engine_venv / "bin" / "python"
    result = subprocess.run([str(rasa), "-c", _SEEDED_RASA, "7", "--version"],
                            capture_output=True, text=True,
                            env={**ENGINE_ENV, "PATH": "/usr/bin:/bin"}, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-1000:]
    assert "Rasa Version" in result.stdout and "3.6.21" in result.stdout
