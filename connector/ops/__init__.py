"""Operator services behind the CLI: status overview and the dead-letter queue."""
