"""``python -m app`` runs the ``rag`` command."""
from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
