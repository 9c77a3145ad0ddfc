"""Paper figures, one module per figure (see :mod:`prefrl.registry` for the module contract).

``prefrl reproduce`` runs them all and writes ``paper_figures/NAME.png`` and ``NAME.json``.
"""
