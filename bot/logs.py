"""Logging set-up for the command line: one format, the level from settings."""
import logging


def configure(level: str = "INFO") -> None:
    """Send log records to standard error at the given level."""
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic notes each of its plugins as it is imported: no news for whoever runs a command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
