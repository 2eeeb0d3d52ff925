"""`python -m bot` is `carebridge`."""

from bot.cli import main

raise SystemExit(main())
