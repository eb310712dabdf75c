"""Iara: an assistant that answers Brazilian municipal gestores about the CAUC."""

__version__ = "0.1.0"
