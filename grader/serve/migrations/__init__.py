"""Alembic migrations of the service's database (``db.upgrade`` runs them)."""
