r"""The reward-shift invariance of pairwise policy gradients (P3O), against REINFORCE and PPO.

Wu et al. (2023), "Pairwise Proximal Policy Optimization: Harnessing Relative Feedback for LLM
Alignment", Sec. 4: on a contextual softmax bandit over whole responses (logits ``theta`` and
``rewards`` of shape ``(n_contexts, K)``, or ``(K,)`` without contexts), the pairwise update
:math:`(r(y)-r(y'))(\nabla\log\pi(y) - \nabla\log\pi(y'))` is unchanged, sample by sample, by a
reward shift :math:`r \to r + c(x)`; REINFORCE is invariant only in expectation, and PPO's
clipped surrogate (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", Eq. 7, as
:func:`prefrl.losses.ppo_clip_loss`) not even there.

Public functions:

- :func:`pairwise_update`: :math:`(r(y)-r(y'))(\nabla\log\pi(y) - \nabla\log\pi(y'))`.
- :func:`expected_pairwise_update`: its exact expectation over :math:`y, y' \sim \pi`.
- :func:`ppo_sample_updates`, :func:`expected_ppo_update`: the negative gradient of
  :func:`prefrl.losses.ppo_clip_loss` per sample and in expectation (REINFORCE at
  ``theta == theta_old``).
- :func:`relative_feedback_training` (:class:`RelativeTraining`): P3O, REINFORCE and PPO with a
  learned value baseline and the KL penalty in the reward, exact (expected updates) or sampled.

The length bias of token aggregation, on the same response bandit, is in :mod:`._length`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    as_rng,
    check_array,
    check_distribution,
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
    check_stochastic_matrix,
)
from ..losses import value_and_grad
from ..policies import kl, log_softmax, softmax
from ..results import Result

__all__ = [
    "RelativeTraining",
    "expected_pairwise_update",
    "expected_ppo_update",
    "pairwise_update",
    "ppo_sample_updates",
    "relative_feedback_training",
]


def _contexts(theta, rewards, name="rewards"):
    th = check_array(theta, "theta", ndim=(1, 2))
    r = check_array(rewards, name, ndim=(1, 2))
    if r.shape != th.shape:
        raise ValueError(f"{name} must have the shape of theta {th.shape}, got {r.shape}")
    return th.reshape(-1, th.shape[-1]), r.reshape(-1, th.shape[-1]), th.shape


def _index(v, name, n):
    v = check_integer(v, name, minimum=0)
    if v >= n:
        raise ValueError(f"{name} = {v}, must be < {n}")
    return v


def pairwise_update(theta, rewards, y, y_prime, *, context=0) -> np.ndarray:
    r"""The per-sample pairwise policy-gradient update of P3O for one pair of responses.

    .. math::
        \Delta\theta = \big(r(x,y) - r(x,y')\big)\big(\nabla_\theta\log\pi(y|x) -
        \nabla_\theta\log\pi(y'|x)\big) = \big(r(x,y) - r(x,y')\big)(e_{x,y} - e_{x,y'})

    for the tabular softmax (the :math:`\pi` in the two scores cancels). Unchanged, sample by
    sample, by :math:`r \to r + c(x)` (Wu et al. 2023, Sec. 4, the invariance of P3O).

    Parameters
    ----------
    theta : array, shape (K,) or (n_contexts, K)
    rewards : array, same shape
    y, y_prime : int
        The two responses.
    context : int
        The row :math:`x` (0 for a bandit without contexts).

    Returns
    -------
    array, the shape of ``theta``

    Examples
    --------
    >>> pairwise_update([0.0, 0.0, 0.0], [1.0, 0.0, 0.5], 0, 2)
    array([ 0.5,  0. , -0.5])
    """
    th, r, shape = _contexts(theta, rewards)
    n, K = th.shape
    x = _index(context, "context", n)
    y, yp = _index(y, "y", K), _index(y_prime, "y_prime", K)
    out = np.zeros_like(th)
    out[x, y] += r[x, y] - r[x, yp]
    out[x, yp] -= r[x, y] - r[x, yp]
    return out.reshape(shape)


def _mu(mu, n):
    return np.full(n, 1.0 / n) if mu is None else check_distribution(mu, "mu", size=n)


def expected_pairwise_update(theta, rewards, *, mu=None) -> np.ndarray:
    r"""The exact expectation of :func:`pairwise_update` over contexts and independent pairs.

    .. math::
        \mathbb{E}_{x\sim\mu}\,\mathbb{E}_{y,y'\sim\pi(\cdot|x)}\big[(r-r')(e_y - e_{y'})\big]
        = 2\,\mu(x)\,\pi(\cdot|x)\odot\big(r(x,\cdot) - \mathbb{E}_{\pi}r(x,\cdot)\big)
        = 2\,\nabla_\theta \mathbb{E}_{x,\,y\sim\pi}\,r,

    twice the REINFORCE update with the exact mean baseline (Wu et al. 2023, Sec. 4, whose
    pairwise gradient carries the 1/2). Computed by enumerating the :math:`K^2` pairs.

    Parameters
    ----------
    theta : array, shape (K,) or (n_contexts, K)
    rewards : array, same shape
    mu : array, shape (n_contexts,), optional
        Context distribution (default uniform).

    Returns
    -------
    array, the shape of ``theta``

    Examples
    --------
    >>> expected_pairwise_update([0.0, 0.0], [1.0, 0.0])
    array([ 0.5, -0.5])
    """
    th, r, shape = _contexts(theta, rewards)
    m = _mu(mu, th.shape[0])
    pi = softmax(th, axis=-1)
    eye = np.eye(th.shape[1])
    diff = r[:, :, None] - r[:, None, :]  # (n, y, y')
    score = eye[None, :, None, :] - eye[None, None, :, :]  # e_y - e_y' : (1, y, y', K)
    w = pi[:, :, None] * pi[:, None, :] * diff
    out = m[:, None] * np.einsum("nab,nabk->nk", w, np.broadcast_to(score, (*w.shape, th.shape[1])))
    return out.reshape(shape)


def _ppo_grads(th, old, A, clip_low, clip_high):
    """d(per-sample PPO loss)/d logp at every (x, y): shape (n, K)."""
    lp, lo = log_softmax(th, axis=-1), log_softmax(old, axis=-1)
    n, K = th.shape
    _, (g, _, _, _) = value_and_grad(
        "ppo_clip_loss",
        lp.reshape(-1, 1),
        lo.reshape(-1, 1),
        A.reshape(-1, 1),
        np.ones((n * K, 1)),
        mode=None,
        clip_low=clip_low,
        clip_high=clip_high,
    )
    return g.reshape(n, K)


def _clip_args(clip_low, clip_high):
    clip_low = check_in_range(clip_low, "clip_low", 0.0, 1.0)
    return clip_low, None if clip_high is None else check_nonnegative(clip_high, "clip_high")


def ppo_sample_updates(theta, theta_old, advantages, *, clip_low=0.2, clip_high=None):
    r"""The per-sample PPO update of every context and response: minus the clipped loss's gradient.

    .. math::
        \Delta\theta_{x}^{(y)} = -\frac{\partial \ell^{clip}(\rho_{xy}, A_{xy})}{\partial
        \log\pi(y|x)}\,(e_y - \pi(\cdot|x)), \qquad \rho_{xy} = \frac{\pi(y|x)}{\pi_{old}(y|x)},

    with :math:`\ell^{clip}` of :func:`prefrl.losses.ppo_clip_loss` (Schulman et al. 2017, Eq. 7).
    At ``theta == theta_old`` this is REINFORCE, :math:`A_{xy}(e_y - \pi)`.

    Parameters
    ----------
    theta, theta_old : array, shape (K,) or (n_contexts, K)
    advantages : array, same shape
    clip_low, clip_high : float
        :math:`\epsilon_{lo}, \epsilon_{hi}` (default :math:`\epsilon_{lo}`).

    Returns
    -------
    array, shape (n_contexts, K, K): entry ``[x, y]`` is the update of row ``x`` from sample ``y``

    Examples
    --------
    >>> ppo_sample_updates([0.0, 0.0], [0.0, 0.0], [1.0, 0.0])[0]
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    th, A, _ = _contexts(theta, advantages, "advantages")
    old = check_array(theta_old, "theta_old", ndim=(1, 2))
    if old.size != th.size:
        raise ValueError(
            f"theta_old must have the shape of theta {np.shape(theta)}, got {old.shape}"
        )
    old = old.reshape(th.shape)
    g = _ppo_grads(th, old, A, *_clip_args(clip_low, clip_high))
    pi = softmax(th, axis=-1)
    score = np.eye(th.shape[1])[None, :, :] - pi[:, None, :]
    return -g[:, :, None] * score


def expected_ppo_update(theta, theta_old, advantages, *, mu=None, clip_low=0.2, clip_high=None):
    r"""The exact expected PPO update, samples drawn from the behaviour policy.

    .. math::
        g_x = \mu(x) \sum_y \pi_{old}(y|x)\, \Delta\theta_x^{(y)}

    with :math:`\Delta\theta_x^{(y)}` from :func:`ppo_sample_updates` (Schulman et al. 2017,
    Eq. 7). Inside the clip range it is :math:`\mu(x)\,\pi\odot(A - \mathbb{E}_\pi A)`.

    Parameters
    ----------
    theta, theta_old : array, shape (K,) or (n_contexts, K)
    advantages : array, same shape
    mu : array, shape (n_contexts,), optional
    clip_low, clip_high : float

    Returns
    -------
    array, the shape of ``theta``

    Examples
    --------
    >>> expected_ppo_update([0.0, 0.0], [0.0, 0.0], [1.0, 0.0])
    array([ 0.25, -0.25])
    """
    U = ppo_sample_updates(theta, theta_old, advantages, clip_low=clip_low, clip_high=clip_high)
    old = softmax(np.asarray(theta_old, dtype=float).reshape(U.shape[0], -1), axis=-1)
    m = _mu(mu, U.shape[0])
    return (m[:, None] * np.einsum("ny,nyk->nk", old, U)).reshape(np.shape(theta))


@dataclass(frozen=True, eq=False)
class RelativeTraining(Result):
    """Result of :func:`relative_feedback_training`: ``policy`` (last, (n_contexts, K)),
    ``policies`` (n_steps + 1, n_contexts, K), ``rewards`` and ``kls`` (n_steps + 1,): the
    expected reward and KL(pi || pi_ref) under mu, ``values`` (the last value baseline V(x))."""

    policy: np.ndarray
    policies: np.ndarray
    rewards: np.ndarray
    kls: np.ndarray
    values: np.ndarray


def relative_feedback_training(
    rewards,
    pi_ref,
    method,
    *,
    beta,
    lr,
    n_steps,
    n_epochs=1,
    value_lr=0.1,
    clip_low=0.2,
    clip_high=None,
    mu=None,
    init=None,
    n_samples=None,
    rng=None,
) -> RelativeTraining:
    r"""P3O, REINFORCE or PPO on a contextual softmax bandit, KL penalty in the reward.

    Each step samples from :math:`\pi_{old} = \pi_{\theta_k}` and uses
    :math:`r_\beta = r - \beta(\log\pi_{old} - \log\pi_{ref})`:

    - ``"p3o"``: one step along half the pairwise update, :math:`\tfrac12(r_\beta - r'_\beta)
      (e_y - e_{y'})` (Wu et al. 2023, Sec. 4), whose expectation is the policy gradient;
    - ``"reinforce"``: one step along :math:`(r_\beta - V(x))(e_y - \pi)`;
    - ``"ppo"``: ``n_epochs`` steps on the clipped surrogate of :func:`expected_ppo_update` with
      :math:`A = r_\beta - V(x)` (Schulman et al. 2017);

    the value baseline is learned, :math:`V \leftarrow V + \alpha(\hat{\mathbb{E}} r_\beta - V)`
    from 0. ``n_samples=None`` uses exact expectations; else ``n_samples`` samples (pairs for
    P3O) per context and step. The fixed point is :func:`prefrl.policies.gibbs`
    ``(pi_ref, r, beta)``.

    Parameters
    ----------
    rewards, pi_ref : array, shape (n_contexts, K)
    method : {"p3o", "reinforce", "ppo"}
    beta : float >= 0
    lr : float > 0
    n_steps : int >= 0
    n_epochs : int >= 1
    value_lr : float in [0, 1]
    clip_low, clip_high : float
    mu : array, shape (n_contexts,), optional
    init : array, shape (n_contexts, K), optional
        Initial logits (default ``log pi_ref``).
    n_samples : int >= 1, optional
    rng : numpy Generator or int, optional
        Required when ``n_samples`` is given.

    Returns
    -------
    RelativeTraining

    Examples
    --------
    >>> r, ref = [[1.0, 0.0]], [[0.5, 0.5]]
    >>> a = relative_feedback_training(r, ref, "p3o", beta=0.1, lr=1.0, n_steps=5)
    >>> b = relative_feedback_training([[6.0, 5.0]], ref, "p3o", beta=0.1, lr=1.0, n_steps=5)
    >>> bool(np.allclose(a.policies, b.policies, atol=1e-12))
    True
    """
    r = check_array(rewards, "rewards", ndim=2)
    ref = check_stochastic_matrix(pi_ref, "pi_ref")
    if ref.shape != r.shape:
        raise ValueError(f"rewards must have the shape of pi_ref {ref.shape}, got {r.shape}")
    if (ref <= 0).any():
        raise ValueError("pi_ref must be positive (its log enters the KL-shaped reward)")
    if method not in ("p3o", "reinforce", "ppo"):
        raise ValueError(f"method must be 'p3o', 'reinforce' or 'ppo', got {method!r}")
    beta, lr = check_nonnegative(beta, "beta"), check_positive(lr, "lr")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    n_epochs = check_integer(n_epochs, "n_epochs", minimum=1)
    value_lr = check_in_range(value_lr, "value_lr", 0.0, 1.0)
    clip = _clip_args(clip_low, clip_high)
    n, K = r.shape
    m = _mu(mu, n)
    theta = np.log(ref) if init is None else check_array(init, "init", shape=r.shape).copy()
    if n_samples is not None:
        n_samples = check_integer(n_samples, "n_samples", minimum=1)
        if rng is None:
            raise ValueError("rng is required when n_samples is given")
        rng = as_rng(rng)
    V = np.zeros(n)
    pis = [softmax(theta, axis=-1)]
    for _ in range(n_steps):
        old, pi_old = theta.copy(), pis[-1]
        rb = r - beta * (np.log(pi_old) - np.log(ref))
        if n_samples is None:
            q = pi_old  # exact: sample frequencies are the probabilities
        else:
            u = rng.random((n, n_samples * (2 if method == "p3o" else 1)))
            ys = (u[:, :, None] > np.cumsum(pi_old, axis=1)[:, None, :-1]).sum(axis=2)
            q = np.stack([np.bincount(ys[i, :n_samples], minlength=K) for i in range(n)])
            q = q / n_samples
        if method == "p3o":
            if n_samples is None:
                step = 0.5 * expected_pairwise_update(theta, rb, mu=m)
            else:
                d = (
                    rb[np.arange(n)[:, None], ys[:, :n_samples]]
                    - rb[np.arange(n)[:, None], ys[:, n_samples:]]
                )
                step = np.zeros((n, K))
                for i in range(n):
                    np.add.at(step[i], ys[i, :n_samples], d[i])
                    np.add.at(step[i], ys[i, n_samples:], -d[i])
                step *= 0.5 * m[:, None] / n_samples
            theta = theta + lr * step
        else:
            A = rb - V[:, None]
            for _ in range(n_epochs if method == "ppo" else 1):
                U = ppo_sample_updates(theta, old, A, clip_low=clip[0], clip_high=clip[1])
                theta = theta + lr * m[:, None] * np.einsum("ny,nyk->nk", q, U)
        V = V + value_lr * ((q * rb).sum(axis=1) - V)
        pis.append(softmax(theta, axis=-1))
    P = np.array(pis)
    rew = np.einsum("n,tnk,nk->t", m, P, r)
    kls = np.array([m @ np.atleast_1d(kl(p, ref)) for p in P])
    return RelativeTraining(P[-1], P, rew, kls, V)
