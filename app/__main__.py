"""``python -m rag_app`` runs the ``rag`` command."""
from rag_app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
