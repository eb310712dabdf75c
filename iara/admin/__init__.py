"""The analysts' loop: accounts and sessions, the unanswered queue, Q&A curation with an
audit trail, retraining with evaluation-gated deploys, and analytics.

A plain library over the settings, the app database and the knowledge tree; ``api/admin``
is its HTTP adapter and ``iara admin`` its command line.
"""
