"""Pipeline jobs: pull → register → track → push (architecture §1–2)."""
