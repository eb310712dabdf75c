"""Iara's exception hierarchy: one place, one shape.

Each error carries a message meant for an operator or analyst (English is fine there);
user-facing Portuguese wording lives in domain.yml responses and in the API error map.
"""

from __future__ import annotations


class IaraError(Exception):
    """Base of every expected Iara failure."""


class KnowledgeError(IaraError):
    """The knowledge files are invalid; ``problems`` lists each one."""

    def __init__(self, problems: list[KnowledgeProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the knowledge")


class KnowledgeProblem:
    """One validation problem, located in a file (and line when known)."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"KnowledgeProblem({self!s})"


class IndexNotBuiltError(IaraError):
    """No index artifact where the settings point."""


class IndexMismatchError(IaraError):
    """The index artifact was built with other settings (model, dimensions, format)."""


class ModelLoadError(IaraError):
    """The embedding model could not be loaded (offline and not available locally)."""


class EngineUnavailableError(IaraError):
    """The Rasa engine did not answer (down, starting, or timed out)."""


class EngineResponseError(IaraError):
    """The Rasa engine answered with something Iara cannot use."""
