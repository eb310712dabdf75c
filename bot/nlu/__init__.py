"""Custom Rasa NLU components; imported by the engine environment only."""
