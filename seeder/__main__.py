"""``python -m seeder``: the same as the ``seeder`` command."""

from seeder.cli import main

main()
