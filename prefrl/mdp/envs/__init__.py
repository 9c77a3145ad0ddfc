r"""Named tabular environments, each built exactly so that the solvers' answers can be checked by hand.

Every constructor returns a :class:`~prefrl.mdp.TabularMDP` (or a subclass carrying layout
helpers).

======================  =========================================================================
``_grids.py``           gridworlds: :class:`GridMDP`, :func:`gridworld` (slip, walls, goals, step
                        cost), :func:`ng_harada_russell_grid` (Ng, Harada and Russell 1999,
                        Sec. 4), :func:`epic_grid` (Gleave et al. 2021, EPIC)
``_chains.py``          :func:`chain`, :func:`combination_lock` (exploration proxies) and
                        :func:`random_mdp` (Dirichlet transitions, dense or sparse)
``_token_tree.py``      :class:`TokenTreeMDP`, :func:`token_tree`: prefixes as states, tokens as
                        actions (the sequence-level bandit of RLHF as an MDP)
``_small.py``           the small named worlds of the expressivity separations
                        (:func:`one_state_env`, :func:`switch_env`, :func:`stay_go_env`;
                        Subramani et al. 2024) and of the curricula (:func:`goal_chain`; Li et
                        al. 2023)
======================  =========================================================================

>>> from prefrl.mdp import envs
>>> envs.gridworld(2, 2, gamma=0.5, start=(0, 0)).solve().values.round(4)
array([0.5, 1. , 1. , 0. ])
"""

from ._chains import chain, combination_lock, random_mdp
from ._grids import GridMDP, epic_grid, gridworld, ng_harada_russell_grid
from ._small import goal_chain, one_state_env, stay_go_env, switch_env
from ._token_tree import TokenTreeMDP, token_tree

__all__ = [
    "GridMDP",
    "TokenTreeMDP",
    "chain",
    "combination_lock",
    "epic_grid",
    "goal_chain",
    "gridworld",
    "ng_harada_russell_grid",
    "one_state_env",
    "random_mdp",
    "stay_go_env",
    "switch_env",
    "token_tree",
]
