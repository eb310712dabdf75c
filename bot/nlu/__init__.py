"""Custom Rasa NLU components (engine environment), and the dependency-free helpers
they share with the app (``folding``)."""
