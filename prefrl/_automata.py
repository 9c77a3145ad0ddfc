"""Compatibility: the automata moved to :mod:`prefrl.expressivity` (public there).

``DeterministicAutomaton``, ``Formula``, ``to_automaton`` and ``holds_on_lasso`` are public
names of :mod:`prefrl.expressivity` (file ``prefrl/expressivity/_automata.py``); this private
module only keeps the old import path working. Import them from :mod:`prefrl.expressivity`.

>>> from prefrl._automata import to_automaton
>>> from prefrl.expressivity import eventually, prop
>>> to_automaton(eventually(prop(0)), 1).n_states
2
"""

from .expressivity._automata import (  # noqa: F401
    FALSE,
    TRUE,
    DeterministicAutomaton,
    Formula,
    holds_on_lasso,
    to_automaton,
)
