"""Iara's retrieval library: knowledge loading, chunking, embedding, FAISS index, answers.

A plain library: it imports neither FastAPI nor rasa-sdk. The API and the Rasa actions
are thin adapters over it.
"""
