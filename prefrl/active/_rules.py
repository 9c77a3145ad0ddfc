r"""Pair-selection rules of active preference learning on a bandit with a linear Bradley-Terry reward.

The learner holds an estimate :math:`\hat\theta` of a linear reward :math:`r = \phi\theta` (the
Bradley-Terry fit, or equivalently the DPO policy :math:`\pi_{\hat\theta/\beta}\propto\pi_{ref}
e^{\phi\hat\theta/\beta}` of the log-linear class, whose implicit reward is :math:`\phi\hat\theta`
up to a constant) and the difference rows :math:`x_t` of the pairs labelled so far. Each rule
scores every pair of a candidate pool; :func:`select_pair` picks one.

======================  ========================================================================
``"random"``            a uniformly random pool pair (the passive baseline)
``"d_optimal"``         greedy D-optimal design: the largest :math:`\log(1 + w\,x^\top
                        A^{-1}x)`, :math:`A = \lambda I + \sum_t w_t x_tx_t^\top`, :math:`w =
                        \sigma'(x^\top\hat\theta)` (Kveton et al. 2025, "Active Learning for Direct
                        Preference Optimization", Sec. 4: D-optimal design on the linearised DPO
                        logits; in the log-linear class the DPO logit is :math:`\beta\theta^\top x`
                        and its Fisher-weighted design is this one)
``"entropy"``           the largest predictive entropy of the label :math:`H(\sigma(x^\top
                        \hat\theta))` (Muldrew et al. 2024, "Active Preference Learning for Large
                        Language Models": their predictive-entropy acquisition, read on a bandit)
``"certainty"``         the largest implicit-reward margin :math:`|x^\top\hat\theta|` (Muldrew et
                        al. 2024: their certainty of DPO's implicit preference model, which
                        favours pairs the model is most sure about)
``"dpo_certainty"``     the least certain DPO logit: the largest unweighted width
                        :math:`\lVert x\rVert_{G^{-1}}`, :math:`G = \lambda I + \sum_t x_tx_t^\top`,
                        i.e. greedy D-optimal design on the linearised DPO logit gradients
                        :math:`\beta x` without Fisher weights (our reconstruction of Kveton et al.
                        2025 from their abstract; with the weights it is ``"d_optimal"``)
``"pilaf"``             a pair drawn from the PILAF sampler of the current policy (Feng et al.
                        2025, "PILAF: Optimal Human Preference Sampling for Reward Modeling";
                        :func:`prefrl.online.pilaf_pair_distribution`), restricted to the pool
``"optimistic"``        the optimistic dueling rule: the optimistic best response :math:`y^+ =
                        \arg\max_y\,(\hat r(y) - \hat r(\hat y)) + \gamma\lVert\phi(y) -
                        \phi(\hat y)\rVert_{A^{-1}}` (:math:`\hat y` the greedy response), then its
                        pool partner of largest width :math:`\lVert x\rVert_{A^{-1}}` (our bandit
                        reading of the active contextual dueling rule of Mehta et al. 2025,
                        "Sample Efficient Preference Alignment in LLMs via Active Exploration",
                        with one context: first arm by an upper confidence bound, second arm by
                        uncertainty)
======================  ========================================================================

- :func:`acquisition_scores`: every pool pair's score under a rule (for ``"random"`` and
  ``"pilaf"``: the probability of drawing it);
- :func:`select_pair`: the index of the chosen pool pair.

What is reconstructed: the papers select prompts and completions of a language model; on a
bandit with linear features each rule reduces to the formula above. Kveton et al. (2025) define
their design on the last layer of the policy network; whether their weights include
:math:`\sigma'` is not in the abstract, so both readings are offered (``"d_optimal"`` with,
``"dpo_certainty"`` without).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, check_array, check_distribution, check_positive
from ..online import pilaf_pair_distribution
from ..policies import gibbs
from ._design import _check_pairs, _check_spd, _quadratic_forms, label_entropy

__all__ = ["RULES", "acquisition_scores", "select_pair"]

#: The pair-selection rules, in the order the figure plots them.
RULES = ("random", "d_optimal", "entropy", "certainty", "dpo_certainty", "pilaf", "optimistic")
_SAMPLED = ("random", "pilaf")


def _check_rule(rule) -> str:
    """The rule name, or a TypeError/ValueError naming ``rule``."""
    if not isinstance(rule, str):
        raise TypeError(f"rule must be a string, one of {RULES}, got {type(rule).__name__}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    return rule


def _inputs(rule, features, pairs, theta, labelled, l2, beta, pi_ref, exploration):
    rule = _check_rule(rule)
    phi = check_array(features, "features", ndim=2)
    K, d = phi.shape
    pairs = _pool(pairs, K)
    theta = check_array(theta, "theta", ndim=1, shape=(d,), like="features")
    labelled = check_array(
        labelled, "labelled", ndim=2, shape=(None, d), nonempty=False, like="features"
    )
    l2 = check_positive(l2, "l2")
    beta = check_positive(beta, "beta")
    ref = np.full(K, 1.0 / K) if pi_ref is None else check_distribution(pi_ref, "pi_ref", size=K)
    exploration = check_positive(exploration, "exploration", allow_zero=True)
    return rule, phi, pairs, theta, labelled, l2, beta, ref, exploration


def _pool(pairs, K: int) -> np.ndarray:
    """The pool: every pair when ``pairs`` is None, else the checked pairs."""
    if pairs is None:
        i, j = np.triu_indices(K, k=1)
        if i.size == 0:
            raise ValueError("features must have at least 2 rows (responses) to form a pair")
        return np.stack([i, j], axis=1).astype(np.int64)
    return _check_pairs(pairs, K)


def _design(labelled: np.ndarray, theta: np.ndarray, l2: float, weighted: bool) -> np.ndarray:
    A = l2 * np.eye(theta.size)
    if labelled.shape[0]:
        if weighted:
            z = labelled @ theta
            w = np.exp(-np.logaddexp(0.0, z) - np.logaddexp(0.0, -z))
        else:
            w = np.ones(labelled.shape[0])
        A = A + (labelled * w[:, None]).T @ labelled
    return A


def _scores(rule, phi, pairs, theta, labelled, l2, beta, ref, exploration) -> np.ndarray:
    """The scores on checked inputs (shared by the public functions and the learning loop)."""
    X = phi[pairs[:, 0]] - phi[pairs[:, 1]]
    n = pairs.shape[0]
    if rule == "random":
        return np.full(n, 1.0 / n)
    if rule == "entropy":
        return label_entropy(X, theta)
    if rule == "certainty":
        return np.abs(X @ theta)
    if rule == "pilaf":
        pi = gibbs(ref, phi @ theta, beta)
        mu = pilaf_pair_distribution(pi, ref, beta)
        q = mu[pairs[:, 0], pairs[:, 1]] + mu[pairs[:, 1], pairs[:, 0]]
        total = q.sum()
        return q / total if total > 0 else np.full(n, 1.0 / n)
    weighted = rule != "dpo_certainty"
    A = _design(labelled, theta, l2, weighted)
    _, L = _check_spd(A, "design")
    quad = _quadratic_forms(L, X)
    if rule == "d_optimal":
        z = X @ theta
        return np.log1p(np.exp(-np.logaddexp(0.0, z) - np.logaddexp(0.0, -z)) * quad)
    if rule == "dpo_certainty":
        return np.log1p(quad)
    # optimistic: the optimistic best response, then its partner of largest width
    r = phi @ theta
    greedy = int(np.argmax(r))
    gaps = phi - phi[greedy]
    ucb = r - r[greedy] + exploration * np.sqrt(np.maximum(_quadratic_forms(L, gaps), 0.0))
    best = int(np.argmax(ucb))
    width = np.sqrt(quad)
    involved = (pairs[:, 0] == best) | (pairs[:, 1] == best)
    return np.where(involved, width, -np.inf) if involved.any() else width


def acquisition_scores(
    rule, features, pairs, theta, labelled, *, l2=1.0, beta=1.0, pi_ref=None, exploration=1.0
) -> np.ndarray:
    r"""Score of every candidate pair under a pair-selection rule (higher is chosen first).

    .. math::
        s_{\text{d\_optimal}}(x) &= \log\big(1 + \sigma'(x^\top\hat\theta)\,x^\top A^{-1}x\big),
        \qquad A = \lambda I + \textstyle\sum_t\sigma'(x_t^\top\hat\theta)\,x_tx_t^\top,\\
        s_{\text{entropy}}(x) &= H\big(\sigma(x^\top\hat\theta)\big),\qquad
        s_{\text{certainty}}(x) = |x^\top\hat\theta|,\\
        s_{\text{dpo\_certainty}}(x) &= \log\big(1 + x^\top G^{-1}x\big),\qquad
        G = \lambda I + \textstyle\sum_t x_tx_t^\top,\\
        s_{\text{optimistic}}(x) &= \lVert x\rVert_{A^{-1}}\ \text{if the pair contains }
        y^+,\ -\infty\ \text{otherwise},

    with :math:`x = \phi(y) - \phi(y')` the pair's difference row, :math:`\hat\theta` the current
    estimate, :math:`x_t` the labelled rows, :math:`\lambda` = ``l2``, :math:`H` the binary
    entropy and :math:`y^+` the optimistic best response (see the module docstring: Kveton et al.
    2025; Muldrew et al. 2024; Mehta et al. 2025). For ``"random"`` the score is :math:`1/n`
    and for ``"pilaf"`` the PILAF law of the pair, :math:`\mu(y, y') + \mu(y', y)` renormalised
    on the pool (Feng et al. 2025; :func:`prefrl.online.pilaf_pair_distribution` at the
    current policy :math:`\pi\propto\pi_{ref}e^{\phi\hat\theta/\beta}`).

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    features : array, shape (K, d)
        :math:`\phi`.
    pairs : int array, shape (n, 2), or None
        The candidate pool (None: every pair, :func:`prefrl.active.all_pairs`).
    theta : array, shape (d,)
        :math:`\hat\theta`.
    labelled : array, shape (t, d)
        Difference rows of the pairs labelled so far (``t`` may be 0; signs do not matter).
    l2 : float > 0
        Ridge :math:`\lambda` of the designs.
    beta : float > 0
        KL weight of the current policy (``"pilaf"`` only).
    pi_ref : array, shape (K,), optional
        Reference policy (uniform by default; ``"pilaf"`` only).
    exploration : float >= 0
        :math:`\gamma`, the optimism of ``"optimistic"``.

    Returns
    -------
    array, shape (n,)

    Examples
    --------
    >>> phi = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    >>> acquisition_scores("d_optimal", phi, None, np.zeros(2), np.zeros((0, 2))).round(4)
    array([0.2231, 1.1787, 1.2528])
    """
    args = _inputs(rule, features, pairs, theta, labelled, l2, beta, pi_ref, exploration)
    return _scores(*args)


def _pick(rule: str, scores: np.ndarray, rng) -> int:
    if rule in _SAMPLED:
        return int(rng.choice(scores.size, p=scores))
    top = np.flatnonzero(scores >= scores.max() - 1e-12 * max(1.0, abs(scores.max())))
    if rng is None or top.size == 1:
        return int(top[0])
    return int(top[rng.integers(top.size)])


def select_pair(
    rule,
    features,
    pairs,
    theta,
    labelled,
    *,
    rng=None,
    l2=1.0,
    beta=1.0,
    pi_ref=None,
    exploration=1.0,
) -> int:
    r"""Index of the pool pair a rule labels next.

    .. math::
        k^\star = \arg\max_{k} s_{rule}(x_k)\quad\text{or}\quad k^\star \sim s_{rule}

    for the deterministic rules (``"d_optimal"``, ``"entropy"``, ``"certainty"``,
    ``"dpo_certainty"``, ``"optimistic"``; ties broken uniformly by ``rng`` when given, else the
    first) and the sampling ones (``"random"``, ``"pilaf"``), with :math:`s_{rule}` of
    :func:`acquisition_scores` (Kveton et al. 2025; Muldrew et al. 2024; Feng et al. 2025;
    Mehta et al. 2025).

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    features : array, shape (K, d)
    pairs : int array, shape (n, 2), or None
    theta : array, shape (d,)
    labelled : array, shape (t, d)
    rng : numpy Generator or int seed, optional
        Required by ``"random"`` and ``"pilaf"``.
    l2, beta, pi_ref, exploration
        As in :func:`acquisition_scores`.

    Returns
    -------
    int
        A row of ``pairs``.

    Examples
    --------
    >>> phi = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    >>> select_pair("d_optimal", phi, None, np.zeros(2), np.zeros((0, 2)))
    2
    """
    args = _inputs(rule, features, pairs, theta, labelled, l2, beta, pi_ref, exploration)
    if rng is None and args[0] in _SAMPLED:
        raise ValueError(f"rng must be given: rule {args[0]!r} samples a pair")
    gen = None if rng is None else as_rng(rng)
    return _pick(args[0], _scores(*args), gen)
