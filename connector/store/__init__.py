"""State store: messages, attachments, cards, outbox, failures, job runs (SQLAlchemy)."""

from connector.store.db import Store

__all__ = ["Store"]
