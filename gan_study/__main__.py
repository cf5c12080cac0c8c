"""`python -m gan_study`: see cli.py."""

from .cli import main

raise SystemExit(main())
