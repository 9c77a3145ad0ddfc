r"""Mini-batch training of pairwise preference losses on bandit comparison data, in numpy.

The policy is a softmax over ``K`` actions, :math:`\pi_\theta = \mathrm{softmax}(\theta)`, and the
loss is any pairwise loss of :mod:`prefrl.losses` applied to the sequence log-probabilities
:math:`\log\pi_\theta(y)` of the chosen and rejected actions. Many runs (seeds and hyperparameters)
are trained at once: the logits are an array of shape ``(n_runs, K)``, and ``beta``, the learning
rate, the reference policy and even the dataset may differ per run. This is what makes the IPO
paper's Figure 1 protocol (18000 Adam steps, 10 seeds, 3 values of tau, 2 losses, 2 datasets)
run in seconds.

The gradient in the logits uses the loss's analytic gradient in the log-probabilities
(:func:`prefrl.losses.value_and_grad`) and the softmax score
:math:`\partial \log \pi_\theta(y) / \partial \theta = e_y - \pi_\theta`.

The map of the file: :func:`train_pairwise` (the trainer, Azar et al. 2024, Sec. 5.4) and its
result :class:`TrainingResult`; :func:`pairwise_loss_and_grad` (the mean loss and its gradient in
the logits); the optimiser definitions :class:`SGD` and :class:`Adam` (Kingma and Ba 2015);
:func:`expand_grid` (hyperparameter sweeps as per-run arrays). The torch counterpart is
:func:`prefrl.torch.train_bandits`.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass

import numpy as np

from ._deprecation import renamed_parameters
from ._validation import (
    as_rng,
    check_array,
    check_in_range,
    check_indices,
    check_integer,
    check_positive,
    check_stochastic_matrix,
    frozen_copy,
)
from .policies import log_softmax
from .results import Result

__all__ = ["SGD", "Adam", "TrainingResult", "expand_grid", "pairwise_loss_and_grad", "train_pairwise"]

#: Losses whose value couples the examples of a batch (they sort it): never mix runs in one call.
_BATCH_COUPLED = frozenset({"aot", "aot_unpaired"})

#: a run whose final full-dataset gradient has max-norm at most this is called converged
STATIONARY_TOL = 1e-8


def _per_run(x, name: str, n_runs: int | None, *, positive: bool = True) -> np.ndarray:
    arr = check_array(x, name, ndim=(0, 1))
    if positive and (arr <= 0).any():
        i = int(np.argmax(np.atleast_1d(arr) <= 0))
        raise ValueError(f"{name}[{i}] = {np.atleast_1d(arr)[i]:.6g}, must be > 0")
    if n_runs is not None and arr.ndim == 1 and arr.size not in (1, n_runs):
        raise ValueError(f"{name} must be a scalar or have length n_runs = {n_runs}, got {arr.size}")
    return arr


def _check_finite_grad(grad) -> None:
    """An optimiser step with a NaN or infinite gradient would poison the parameters: refuse it."""
    g = np.asarray(grad)
    if not np.all(np.isfinite(g)):
        idx = tuple(int(k) for k in np.argwhere(~np.isfinite(g))[0])
        raise ValueError(f"grad{list(idx)} = {g[idx]}: the gradient must be finite (the loss or "
                         "its inputs produced NaN or inf)")


@dataclass(frozen=True)
class SGD:
    r"""Stochastic gradient descent with optional heavy-ball momentum.

    .. math::
        v_t = m\, v_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \eta\, v_t,

    with :math:`g_t` the mini-batch gradient, :math:`\eta` the learning rate and :math:`m` the
    momentum (PyTorch's ``torch.optim.SGD`` convention, dampening 0).

    Parameters
    ----------
    lr : float or array, shape (n_runs,)
        Learning rate :math:`\eta` (one per run to sweep it).
    momentum : float in [0, 1)

    Examples
    --------
    >>> opt = SGD(lr=0.5)
    >>> theta, state = opt.update(np.zeros((1, 2)), np.array([[1.0, -1.0]]), opt.init(np.zeros((1, 2))))
    >>> theta
    array([[-0.5,  0.5]])
    """

    lr: float | np.ndarray
    momentum: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", frozen_copy(_per_run(self.lr, "lr", None)))
        object.__setattr__(
            self, "momentum", check_in_range(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        )

    def init(self, params: np.ndarray) -> dict:
        """Optimiser state for parameters of shape (n_runs, K)."""
        return {"v": np.zeros_like(params), "t": 0}

    def update(self, params: np.ndarray, grad: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """One step: returns the new parameters and state (inputs are not modified)."""
        _check_finite_grad(grad)
        lr = self.lr[:, None] if self.lr.ndim == 1 else self.lr
        v = self.momentum * state["v"] + grad if self.momentum else grad
        return params - lr * v, {"v": v, "t": state["t"] + 1}


@dataclass(frozen=True)
class Adam:
    r"""Adam (Kingma and Ba 2015), with bias correction, as in optax and PyTorch.

    .. math::
        m_t = b_1 m_{t-1} + (1 - b_1) g_t, \qquad v_t = b_2 v_{t-1} + (1 - b_2) g_t^2,

        \theta_t = \theta_{t-1} - \eta\, \frac{m_t / (1 - b_1^t)}{\sqrt{v_t / (1 - b_2^t)} + \epsilon},

    with :math:`g_t` the mini-batch gradient and :math:`\eta` the learning rate. The IPO paper's
    experiments (Azar et al. 2024, Sec. 5.4) use optax's Adam with :math:`\eta = 0.01`.

    Parameters
    ----------
    lr : float or array, shape (n_runs,)
        Learning rate :math:`\eta`.
    b1, b2 : float in [0, 1)
        Decay rates of the moment estimates.
    eps : float > 0

    Examples
    --------
    The first Adam step moves every coordinate with a nonzero gradient by about ``lr``:

    >>> opt = Adam(lr=0.01)
    >>> theta, _ = opt.update(np.zeros((1, 2)), np.array([[3.0, -0.2]]), opt.init(np.zeros((1, 2))))
    >>> theta.round(6)
    array([[-0.01,  0.01]])
    """

    lr: float | np.ndarray
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        object.__setattr__(self, "lr", frozen_copy(_per_run(self.lr, "lr", None)))
        object.__setattr__(self, "b1", check_in_range(self.b1, "b1", 0.0, 1.0, high_open=True))
        object.__setattr__(self, "b2", check_in_range(self.b2, "b2", 0.0, 1.0, high_open=True))
        object.__setattr__(self, "eps", check_positive(self.eps, "eps"))

    def init(self, params: np.ndarray) -> dict:
        """Optimiser state for parameters of shape (n_runs, K)."""
        return {"m": np.zeros_like(params), "v": np.zeros_like(params), "t": 0}

    def update(self, params: np.ndarray, grad: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """One step: returns the new parameters and state (inputs are not modified)."""
        _check_finite_grad(grad)
        t = state["t"] + 1
        m = self.b1 * state["m"] + (1.0 - self.b1) * grad
        v = self.b2 * state["v"] + (1.0 - self.b2) * grad * grad
        m_hat = m / (1.0 - self.b1**t)
        v_hat = v / (1.0 - self.b2**t)
        lr = self.lr[:, None] if self.lr.ndim == 1 else self.lr
        return params - lr * m_hat / (np.sqrt(v_hat) + self.eps), {"m": m, "v": v, "t": t}


@dataclass(frozen=True, eq=False)
class TrainingResult(Result):
    """The outcome of :func:`train_pairwise`.

    Attributes
    ----------
    policy : array, shape (n_runs, K)
        Final policies.
    value : array, shape (n_runs,)
        Final mean loss of each run on its whole dataset.
    iterations : int
        Number of optimiser steps.
    certificate : array, shape (n_runs,)
        Max-norm of the full-dataset gradient in the logits at the end (0 at a stationary point).
    converged : array of bool, shape (n_runs,)
        ``certificate <= 1e-8`` (a property): the run ends at a stationary point of the
        full-dataset loss up to rounding (the trainer itself runs its ``n_steps`` regardless).
    steps : array of int, shape (n_records,)
        Step indices at which the policy was recorded (0 is the initial policy).
    policies : array, shape (n_records, n_runs, K)
        The recorded policies.
    losses : array, shape (n_records, n_runs)
        Full-dataset mean loss at the recorded steps.
    logits : array, shape (n_runs, K)
        Final logits.
    """

    policy: np.ndarray
    value: np.ndarray
    iterations: int
    certificate: np.ndarray
    steps: np.ndarray
    policies: np.ndarray
    losses: np.ndarray
    logits: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        """Whether each run ends at a stationary point: ``certificate <= 1e-8``."""
        return self.certificate <= STATIONARY_TOL


def _loss_fn(loss: str):
    from .losses import PAIRWISE

    if not isinstance(loss, str) or loss not in PAIRWISE:
        raise ValueError(f"loss must be one of {', '.join(sorted(PAIRWISE))}; got {loss!r}")
    return PAIRWISE[loss]


def pairwise_loss_and_grad(loss, logits, winners, losers, log_ref, beta, **options):
    r"""Mean pairwise loss of softmax policies on comparisons and its gradient in the logits.

    .. math::
        L(\theta) = \frac1B \sum_{b=1}^{B} \ell\big(\log\pi_\theta(w_b), \log\pi_\theta(l_b),
        \log\pi_{ref}(w_b), \log\pi_{ref}(l_b)\big), \qquad
        \nabla_\theta L = \frac1B \sum_b \Big(\frac{\partial \ell}{\partial c_b}(e_{w_b} - \pi_\theta)
        + \frac{\partial \ell}{\partial r_b}(e_{l_b} - \pi_\theta)\Big),

    where :math:`\pi_\theta = \mathrm{softmax}(\theta)`, :math:`\ell` is the pairwise loss ``loss``
    of :mod:`prefrl.losses` (e.g. DPO, Rafailov et al. 2023, Eq. 7; IPO, Azar et al. 2024, Eq. 17),
    :math:`c_b, r_b` its chosen and rejected log-probability arguments and :math:`e_y` the unit
    vector of action :math:`y`; one such loss per run.

    Parameters
    ----------
    loss : str
        A key of :data:`prefrl.losses.PAIRWISE`.
    logits : array, shape (n_runs, K)
    winners, losers : int arrays, shape (n_runs, B)
        Chosen and rejected actions of each run's batch.
    log_ref : array, shape (n_runs, K)
        :math:`\log \pi_{ref}` of each run.
    beta : array, shape (n_runs,), or None
        The loss's ``beta`` per run (``None`` for losses without one, e.g. ``rebel``).
    **options
        Further keyword arguments of the loss.

    Returns
    -------
    values : array, shape (n_runs,)
        Mean loss of each run.
    grad : array, shape (n_runs, K)

    Examples
    --------
    >>> v, g = pairwise_loss_and_grad("dpo", np.zeros((1, 2)), [[0]], [[1]], np.log([[.5, .5]]), [1.0])
    >>> v.round(4), g.round(4)
    (array([0.6931]), array([[-0.5,  0.5]]))
    """
    fn = _loss_fn(loss)
    theta = check_array(logits, "logits", ndim=2, finite=False)
    if np.isnan(theta).any() or np.isposinf(theta).any():
        raise ValueError("logits must not contain NaN or +inf")
    n_runs, K = theta.shape
    w = np.asarray(winners)
    lo = np.asarray(losers)
    if w.ndim != 2 or w.shape[0] != n_runs or lo.shape != w.shape:
        raise ValueError(
            f"winners and losers must have shape (n_runs, B) = ({n_runs}, B), got {w.shape} and {lo.shape}"
        )
    w = check_indices(w.ravel(), "winners", K).reshape(w.shape)
    lo = check_indices(lo.ravel(), "losers", K).reshape(lo.shape)
    log_ref = check_array(log_ref, "log_ref", shape=(n_runs, K), finite=False, like="logits")
    if np.isnan(log_ref).any() or np.isposinf(log_ref).any():
        raise ValueError("log_ref must not contain NaN or +inf (log 0 = -inf is allowed)")
    groups = _beta_groups(loss, fn, beta, n_runs)
    return _loss_and_grad(loss, theta, w, lo, log_ref, groups, options)


def _beta_groups(loss, fn, beta, n_runs):
    """Runs sharing a beta (the losses take a scalar beta), as (indices, keyword) pairs."""
    has_beta = "beta" in inspect.signature(fn).parameters
    if beta is None:
        if has_beta:
            raise ValueError(f"beta is required by the loss {loss!r}")
        groups = [(np.arange(n_runs), {})]
    else:
        if not has_beta:
            raise ValueError(f"the loss {loss!r} has no beta; pass its parameters as options")
        beta = np.broadcast_to(_per_run(beta, "beta", n_runs), (n_runs,))
        groups = [(np.flatnonzero(beta == b), {"beta": float(b)}) for b in np.unique(beta)]
    if loss in _BATCH_COUPLED:
        groups = [(np.array([r]), kw) for idx, kw in groups for r in idx]
    return groups


def _log_softmax_rows(theta):
    # The inner loop's log-softmax (a fast path: no validation, no scipy call); the result the
    # user gets goes through prefrl.policies.log_softmax. Kept as is so that runs stay bitwise
    # identical.
    m = np.max(theta, axis=1, keepdims=True)
    z = theta - m
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _loss_and_grad(loss, theta, w, lo, log_ref, groups, options):
    """The unchecked core of :func:`pairwise_loss_and_grad` (inputs already validated)."""
    from .losses import value_and_grad

    n_runs, K = theta.shape
    B = w.shape[1]
    logp = _log_softmax_rows(theta)
    rows = np.arange(n_runs)[:, None]
    arrays = (logp[rows, w], logp[rows, lo], log_ref[rows, w], log_ref[rows, lo])
    values = np.empty(n_runs)
    gc = np.empty((n_runs, B))
    gr = np.empty((n_runs, B))
    for idx, kw in groups:
        if idx.size == n_runs:
            flat = [a.ravel() for a in arrays]
        else:
            flat = [a[idx].ravel() for a in arrays]
        v, grads = value_and_grad(loss, *flat, **kw, **options)
        values[idx] = v.reshape(idx.size, B).mean(axis=1)
        gc[idx] = grads[0].reshape(idx.size, B)
        gr[idx] = grads[1].reshape(idx.size, B)
    flat_rows = np.repeat(np.arange(n_runs), B)
    scatter = np.bincount(flat_rows * K + w.ravel(), weights=gc.ravel(), minlength=n_runs * K)
    scatter += np.bincount(flat_rows * K + lo.ravel(), weights=gr.ravel(), minlength=n_runs * K)
    grad = (scatter.reshape(n_runs, K) - (gc.sum(1) + gr.sum(1))[:, None] * np.exp(logp)) / B
    return values, grad


@renamed_parameters(init_logits="init")
def train_pairwise(
    loss: str,
    winners,
    losers,
    *,
    beta,
    n_steps: int,
    batch_size: int | None,
    optimizer,
    rng=None,
    n_actions: int | None = None,
    pi_ref=None,
    n_runs: int | None = None,
    init=None,
    record_every: int = 1,
    **loss_options,
) -> TrainingResult:
    r"""Train softmax bandit policies on comparison data with a pairwise loss, many runs at once.

    Each step draws, independently for each run, a mini-batch of ``batch_size`` comparisons
    uniformly *with replacement* from the run's dataset and applies one optimiser step to

    .. math::
        L(\theta) = \frac1B \sum_{b=1}^B \ell_\beta\big(\log\pi_\theta(w_b), \log\pi_\theta(l_b),
        \log\pi_{ref}(w_b), \log\pi_{ref}(l_b)\big), \qquad \pi_\theta = \mathrm{softmax}(\theta),

    where :math:`\ell_\beta` is the pairwise loss ``loss`` of :mod:`prefrl.losses` with KL weight
    :math:`\beta`, :math:`(w_b, l_b)` the batch's chosen and rejected actions and :math:`B` the batch
    size. This is the sampled protocol of Azar et al. (2024), Sec. 5.4 (Adam, lr 0.01, batch 9,
    18000 steps, logits from zero).

    Parameters
    ----------
    loss : str
        Name of a pairwise loss (a key of :data:`prefrl.losses.PAIRWISE`, e.g. ``"dpo"``, ``"ipo"``).
    winners, losers : int arrays, shape (N,) or (n_runs, N)
        The comparisons (one shared dataset, or one per run of equal size).
    beta : float or array, shape (n_runs,)
        The loss's KL weight (the IPO paper's tau), per run; ``None`` for losses without one.
    n_steps : int >= 0
    batch_size : int >= 1 or None
        ``None`` uses the whole dataset every step (deterministic full-batch training).
    optimizer : SGD or Adam
        Its ``lr`` may be an array of shape (n_runs,).
    rng : numpy Generator or int seed, optional
        Source of the mini-batches (runs differ by their draws, so "seeds" are runs); required
        when ``batch_size`` is given, unused (and optional) for full-batch training.
    n_actions : int, optional
        K; inferred from ``pi_ref`` or ``init`` when given, else from the data.
    pi_ref : array, shape (K,) or (n_runs, K), optional
        Reference policy (uniform by default); must be positive on compared actions.
    n_runs : int, optional
        Number of runs; inferred from the per-run arguments (1 if all are shared).
    init : array, shape (K,) or (n_runs, K), optional
        Initial logits :math:`\theta`; default :math:`\log \pi_{ref}` (zero logits for a uniform
        reference, the paper's initialisation). The keyword ``init_logits`` is deprecated.
    record_every : int >= 1
        Record the policy every this many steps (and at the last step).
    **loss_options
        Further scalar keyword arguments of the loss (e.g. ``label_smoothing``). Per-example
        options (``rebel``'s rewards, ``sppo``'s win probabilities) are not supported here.

    Returns
    -------
    TrainingResult

    Examples
    --------
    IPO on Figure 1's dataset D1 with full-batch gradient descent converges to the least-squares
    solution, gaps :math:`1/(3\tau)`:

    >>> res = train_pairwise("ipo", [0, 1, 0], [1, 2, 2], beta=0.5, n_steps=2000, batch_size=None,
    ...                      optimizer=SGD(lr=0.5), n_actions=3)
    >>> res.policy.round(4), bool(res.certificate[0] < 1e-10), res.converged
    (array([[0.5627, 0.2889, 0.1483]]), True, array([ True]))
    """
    _loss_fn(loss)
    w = np.asarray(winners)
    lo = np.asarray(losers)
    if w.ndim not in (1, 2) or lo.shape != w.shape:
        raise ValueError(
            f"winners and losers must have the same shape (N,) or (n_runs, N), got {w.shape} and {lo.shape}"
        )
    if w.shape[-1] == 0:
        raise ValueError("winners must not be empty")
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    record_every = check_integer(record_every, "record_every", minimum=1)
    if batch_size is not None:
        batch_size = check_integer(batch_size, "batch_size", minimum=1)
    if not isinstance(optimizer, (SGD, Adam)):
        raise TypeError(f"optimizer must be an SGD or Adam instance, got {type(optimizer).__name__}")
    if batch_size is not None:
        rng = as_rng(rng)  # mini-batches are drawn: rng is required

    # Number of actions and runs.
    K = None if n_actions is None else check_integer(n_actions, "n_actions", minimum=2)
    for arr, nm in ((pi_ref, "pi_ref"), (init, "init")):
        if arr is not None:
            k = np.shape(arr)[-1]
            if K is not None and k != K:
                raise ValueError(f"{nm} has {k} actions, expected {K}")
            K = k
    if K is None:
        K = int(max(w.max(), lo.max())) + 1
    check_indices(w.ravel(), "winners", K)
    check_indices(lo.ravel(), "losers", K)
    sizes = set()
    if w.ndim == 2:
        sizes.add(w.shape[0])
    for arr in (beta, optimizer.lr):
        if arr is not None and np.ndim(arr) == 1 and np.size(arr) > 1:
            sizes.add(np.size(arr))
    for arr in (pi_ref, init):
        if arr is not None and np.ndim(arr) == 2:
            sizes.add(np.shape(arr)[0])
    if n_runs is not None:
        sizes.add(check_integer(n_runs, "n_runs", minimum=1))
    if len(sizes) > 1:
        raise ValueError(f"the per-run arguments disagree on n_runs: {sorted(sizes)}")
    R = sizes.pop() if sizes else 1
    W = np.broadcast_to(w, (R, w.shape[-1]))
    L = np.broadcast_to(lo, (R, lo.shape[-1]))
    ref = np.full((R, K), 1.0 / K) if pi_ref is None else check_stochastic_matrix(pi_ref, "pi_ref")
    ref = np.broadcast_to(ref, (R, K))
    used = np.zeros((R, K), bool)
    used[np.arange(R)[:, None], W] = True
    used[np.arange(R)[:, None], L] = True
    if (used & (ref <= 0)).any():
        r_, k_ = np.argwhere(used & (ref <= 0))[0]
        raise ValueError(f"pi_ref[{r_}, {k_}] = 0 but action {k_} is compared")
    with np.errstate(divide="ignore"):
        log_ref = np.log(ref)
    if init is None:
        theta = np.where(ref > 0, log_ref, -np.inf)
    else:
        theta = np.broadcast_to(check_array(init, "init", ndim=(1, 2)), (R, K))
    theta = np.array(theta, dtype=float)
    beta_arr = None if beta is None else np.broadcast_to(_per_run(beta, "beta", R), (R,))
    lr = optimizer.lr
    if lr.ndim == 1 and lr.size not in (1, R):
        raise ValueError(f"optimizer.lr must have length n_runs = {R}, got {lr.size}")

    groups = _beta_groups(loss, _loss_fn(loss), beta_arr, R)
    W = np.ascontiguousarray(W)
    L = np.ascontiguousarray(L)

    def full(th):
        return _loss_and_grad(loss, th, W, L, log_ref, groups, loss_options)

    rec_steps = sorted({*range(0, n_steps + 1, record_every), n_steps})
    policies = np.empty((len(rec_steps), R, K))
    losses = np.empty((len(rec_steps), R))
    state = optimizer.init(theta)
    N = W.shape[1]
    rows = np.arange(R)[:, None]
    rec = 0
    for step in itertools.count():
        if rec < len(rec_steps) and step == rec_steps[rec]:
            policies[rec] = np.exp(_log_softmax_rows(theta))
            losses[rec] = full(theta)[0]
            rec += 1
        if step == n_steps:
            break
        if batch_size is None:
            bw, bl = W, L
        else:
            idx = rng.integers(0, N, size=(R, batch_size))
            bw, bl = W[rows, idx], L[rows, idx]
        _, grad = _loss_and_grad(loss, theta, bw, bl, log_ref, groups, loss_options)
        grad = np.where(np.isfinite(theta), grad, 0.0)  # actions outside supp(pi_ref) stay at 0
        theta, state = optimizer.update(theta, grad, state)
    value, grad = full(theta)
    return TrainingResult(
        policy=np.exp(log_softmax(theta)),
        value=value,
        iterations=n_steps,
        certificate=np.max(np.abs(grad), axis=1),
        steps=np.asarray(rec_steps),
        policies=policies,
        losses=losses,
        logits=theta,
    )


def expand_grid(**axes) -> dict[str, np.ndarray]:
    r"""All combinations of hyperparameter values, as flat per-run arrays (the last axis varies fastest).

    .. math::
        \{(a_1, b_1, \dots)\} = A \times B \times \cdots, \qquad n_{runs} = |A|\,|B| \cdots

    for axes :math:`A, B, \dots` given as keyword lists. Feed the arrays to :func:`train_pairwise`
    (``beta=grid["beta"]``, ``optimizer=Adam(lr=grid["lr"])``) to train every combination at once.

    Parameters
    ----------
    **axes : sequences
        One list of values per hyperparameter (e.g. ``beta=[0.1, 1.0]``, ``seed=range(3)``).

    Returns
    -------
    dict of str to array, each of shape (n_runs,)

    Examples
    --------
    >>> g = expand_grid(beta=[0.1, 1.0], seed=range(2))
    >>> g["beta"].tolist(), g["seed"].tolist()
    ([0.1, 0.1, 1.0, 1.0], [0, 1, 0, 1])
    """
    if not axes:
        raise ValueError("expand_grid needs at least one axis")
    names = list(axes)
    values = []
    for n in names:
        v = np.asarray(list(axes[n]))
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"{n} must be a non-empty 1-D sequence of values")
        values.append(v)
    mesh = np.meshgrid(*values, indexing="ij")
    return {n: m.ravel() for n, m in zip(names, mesh)}
