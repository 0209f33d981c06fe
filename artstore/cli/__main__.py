"""``python -m artstore.cli``."""

from artstore.cli import main

main()
