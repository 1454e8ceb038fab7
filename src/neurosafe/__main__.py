"""``python -m neurosafe`` runs the command line."""

from neurosafe.cli import main

main()
