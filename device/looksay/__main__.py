"""``python -m looksay`` runs the command line."""

from looksay.cli import main

raise SystemExit(main())
