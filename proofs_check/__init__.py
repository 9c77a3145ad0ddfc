"""Executable theorem checks, one module per paper (see :mod:`prefrl.registry`).

Each module registers its theorems with :func:`prefrl.registry.theorem`; ``prefrl check`` runs them
all on random instances and prints the worst violation found for each.
"""
