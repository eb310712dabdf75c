"""The public contract of the chat API."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class ChatRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="Conversation id.")
    message: str = Field(min_length=1, max_length=2000, description="What the gestor typed.")

    @field_validator("sender", "message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class Button(BaseModel):
    title: str
    payload: str


class Source(BaseModel):
    title: str
    url: str | None = None
    item: str | None = None
    trilha: str | None = None
    format: str | None = None


class Link(BaseModel):
    title: str
    url: str


class Message(BaseModel):
    text: str
    buttons: list[Button] = []
    sources: list[Source] = []
    link: Link | None = Field(
        None, description="The full explanation behind a short answer (the content page "
        "of its item or topic), shown as a link button: 'Ver explicação completa'.")
    handoff: bool = Field(
        False, description="The gestor asked for a person: a channel may route the "
        "conversation to its human support.")


class ChatResponse(BaseModel):
    sender: str
    messages: list[Message]


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class HealthResponse(BaseModel):
    status: str = Field(description="'ok' when every component is up, else 'unavailable'.")
    components: dict[str, ComponentHealth]


class ErrorBody(BaseModel):
    error: str = Field(description="Stable machine-readable code.")
    message: str = Field(description="Explanation in Portuguese, safe to show to a user.")
    details: list[str] = []
