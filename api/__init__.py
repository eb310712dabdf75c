"""Iara's HTTP API (FastAPI): chat page, chat contract, health, content pages."""
