r"""Train many independent preference-learning bandit instances at once, on tensors.

:func:`train_bandits` and its result :class:`BanditTrainingResult` (the torch counterpart of
:func:`prefrl.training.train_pairwise`); the protocol is that of Azar et al. (2024), Sec. 5.4.

Each instance :math:`n` has softmax policy logits :math:`\theta_n \in \mathbb{R}^K` and a dataset
of comparisons (winner, loser); a step lowers

.. math::
    \sum_{n=1}^N \frac1{|B_n|}\sum_{(w,l) \in B_n}
    \ell\big(\log\pi_{\theta_n}(w), \log\pi_{\theta_n}(l), \log\pi_{ref,n}(w), \log\pi_{ref,n}(l)\big)

for any pairwise loss :math:`\ell` of :data:`prefrl.torch.losses.PAIRWISE`. Because the instances
share no parameters and Adam and SGD act coordinate-wise, this is exactly :math:`N` independent
runs, so sweeps over seeds, :math:`\beta` and datasets run as one batched computation (on a GPU if
the tensors live there).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .._deprecation import renamed_parameters
from .._validation import check_integer, check_positive, seed_zero_if_none
from ..results import Result
from .losses import PAIRWISE

__all__ = ["BanditTrainingResult", "train_bandits"]

#: a run whose final full-dataset gradient has max-norm at most this is called converged
STATIONARY_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class BanditTrainingResult(Result):
    """Result of :func:`train_bandits`.

    Attributes
    ----------
    logits : tensor, shape (N, K)
        Final logits :math:`\\theta_n`.
    policy : tensor, shape (N, K)
        :math:`\\mathrm{softmax}(\\theta_n)`.
    value : tensor, shape (N,)
        Full-dataset mean loss of each instance at the final logits (``loss`` in earlier
        releases: reading ``loss`` still works and warns).
    history : tensor, shape (R, N)
        Full-dataset mean loss every ``record_every`` steps (R = 0 when not recorded).
    iterations : int
        Optimiser steps taken (``n_steps``).
    certificate : tensor, shape (N,)
        Max-norm of the full-dataset gradient in the logits at the end (0 at a stationary point).
    converged : tensor of bool, shape (N,)
        ``certificate <= 1e-8`` (a property): the run ends at a stationary point up to rounding.
    """

    logits: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    history: torch.Tensor
    iterations: int
    certificate: torch.Tensor

    _renamed: ClassVar[dict[str, str]] = {"loss": "value"}

    @property
    def converged(self) -> torch.Tensor:
        """Whether each run ends at a stationary point: ``certificate <= 1e-8``."""
        return self.certificate <= STATIONARY_TOL

    def __repr__(self) -> str:  # tensors by shape (Result's repr shows small numpy arrays only)
        def short(x):
            if isinstance(x, torch.Tensor):
                return f"<tensor shape={tuple(x.shape)} dtype={x.dtype}>"
            return repr(x)

        body = ", ".join(f"{k}={short(getattr(self, k))}" for k in self.keys())
        return f"{type(self).__name__}({body})"


def _generator(rng, device):
    """A :class:`torch.Generator` on ``device`` from a seed, a torch or a numpy Generator."""
    if isinstance(rng, torch.Generator):
        return rng
    if isinstance(rng, np.random.Generator):
        rng = int(rng.integers(2**63 - 1))
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise TypeError(f"rng must be a nonnegative integer seed, a torch.Generator or a "
                        f"numpy.random.Generator, got {rng!r}")
    return torch.Generator(device=device).manual_seed(int(rng))


def _pairs(x, name, N, K, device):
    t = torch.as_tensor(x, device=device)
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer action indices")
    if t.ndim == 1:
        t = t.expand(N, -1)
    if t.ndim != 2 or t.shape[0] != N:
        raise ValueError(f"{name} must have shape (M,) or ({N}, M), got {tuple(t.shape)}")
    if t.shape[1] == 0:
        raise ValueError(f"{name} must not be empty")
    if bool(((t < 0) | (t >= K)).any()):
        raise ValueError(f"{name} holds an index outside [0, {K})")
    return t.long()


def _mean_loss(fn, theta, log_ref, w, lo, groups, options):
    """Per-instance mean loss; ``groups`` is a list of (beta, row index tensor or None)."""
    logp = torch.log_softmax(theta, dim=1)
    N, M = w.shape
    args = [torch.gather(logp, 1, w), torch.gather(logp, 1, lo), torch.gather(log_ref, 1, w),
            torch.gather(log_ref, 1, lo)]
    if len(groups) == 1:
        v = fn(*(a.reshape(-1) for a in args), beta=groups[0][0], **options)
        return v.reshape(N, M).mean(dim=1)
    out = torch.zeros(N, dtype=theta.dtype, device=theta.device)
    for b, rows in groups:
        v = fn(*(a[rows].reshape(-1) for a in args), beta=b, **options)
        out = out.index_put((rows,), v.reshape(-1, M).mean(dim=1))
    return out


@renamed_parameters(init_logits="init", steps="n_steps", seed="rng")
def train_bandits(winners, losers, *, loss="ipo", beta, ref_logits, init=None, n_steps=1000,
                  lr=0.01, optimizer="adam", batch_size=None, rng=None, record_every=0,
                  **loss_options) -> BanditTrainingResult:
    r"""Train :math:`N` independent softmax bandit policies with a pairwise preference loss.

    .. math::
        \theta_n \leftarrow \mathrm{opt}\Big(\nabla_{\theta_n} \frac1{|B_n|}\sum_{(w,l)\in B_n}
        \ell(\theta_n; w, l)\Big), \qquad \pi_{\theta_n} = \mathrm{softmax}(\theta_n)

    with :math:`B_n` the full dataset of instance :math:`n` (``batch_size=None``, deterministic)
    or ``batch_size`` comparisons drawn uniformly with replacement each step, as in Azar et al.
    (2024), Sec. 5.4 (Adam, lr 0.01, mini-batches of comparisons).

    Parameters
    ----------
    winners, losers : int tensor, shape (N, M) or (M,)
        The preferred and the dispreferred action of each comparison; (M,) is shared by all
        instances.
    loss : str
        A key of :data:`prefrl.torch.losses.PAIRWISE` (``"ipo"``, ``"dpo"``, ...).
    beta : float > 0, or array of shape (N,)
        The loss's :math:`\beta`, shared or one per instance (a sweep over :math:`\beta`; each
        distinct value costs one loss call per step).
    ref_logits : tensor, shape (N, K) or (K,)
        Logits of :math:`\pi_{ref}`; their dtype and device are used for everything.
    init : tensor, shape (N, K) or (K,), optional
        Starting logits (default: ``ref_logits``, i.e. start at :math:`\pi_{ref}`; the keyword
        ``init_logits`` is deprecated).
    n_steps : int >= 0
        Optimiser steps (the keyword ``steps`` is deprecated).
    lr : float > 0
    optimizer : {"adam", "sgd"}
    batch_size : int, optional
        Comparisons drawn per instance and step; None (default) uses the whole dataset
        (deterministic, no rng needed).
    rng : int, torch.Generator or numpy.random.Generator
        Source of the mini-batches (a :class:`torch.Generator` on the tensors' device is made
        from a seed); required when ``batch_size`` is given. (The keyword ``seed`` is deprecated;
        for one release a missing rng with a ``batch_size`` warns and uses seed 0.)
    record_every : int >= 0
        Record the full-dataset loss every this many steps (0: never).
    **loss_options
        Extra keyword arguments of the loss (``label_smoothing``, ...).

    Returns
    -------
    BanditTrainingResult

    Examples
    --------
    >>> import torch
    >>> # IPO on the total order a > b > c (Azar et al. 2024, Fig. 1): the fixed point has logit
    >>> # gaps 1/(3 beta). Instance 0 sees a > b > c, instance 1 the reversed order. With SGD at
    >>> # lr = 0.5 the quadratic IPO loss is minimised in one step.
    >>> ref = torch.zeros(2, 3, dtype=torch.float64)
    >>> w = torch.tensor([[0, 1, 0], [2, 1, 2]])
    >>> l = torch.tensor([[1, 2, 2], [1, 0, 0]])
    >>> res = train_bandits(w, l, loss="ipo", beta=0.5, ref_logits=ref, n_steps=50, lr=0.5,
    ...                     optimizer="sgd")
    >>> res.policy.round(decimals=4)
    tensor([[0.5627, 0.2889, 0.1483],
            [0.1483, 0.2889, 0.5627]], dtype=torch.float64)
    """
    if loss not in PAIRWISE:
        raise ValueError(f"loss must be one of {sorted(PAIRWISE)}, got {loss!r}")
    fn = PAIRWISE[loss]
    n_steps = check_integer(n_steps, "n_steps", minimum=0)
    lr = check_positive(lr, "lr")
    record_every = check_integer(record_every, "record_every", minimum=0)
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    ref = torch.as_tensor(ref_logits)
    if not ref.dtype.is_floating_point:
        ref = ref.double()
    if ref.ndim == 1:
        ref = ref[None]
    if ref.ndim != 2 or ref.shape[1] < 2:
        raise ValueError(f"ref_logits must have shape (N, K) or (K,) with K >= 2, got "
                         f"{tuple(ref.shape)}")
    w0 = torch.as_tensor(winners, device=ref.device)
    N = max(ref.shape[0], w0.shape[0] if w0.ndim == 2 else 1)
    if init is not None:
        init = torch.as_tensor(init, dtype=ref.dtype, device=ref.device)
        if init.ndim == 1:
            init = init[None]
        N = max(N, init.shape[0])
    ref = ref.expand(N, -1)
    K = ref.shape[1]
    theta0 = ref if init is None else init.expand(N, -1)
    if theta0.shape != (N, K):
        raise ValueError(f"init must have shape ({N}, {K}) or ({K},), got "
                         f"{tuple(theta0.shape)}")
    w = _pairs(winners, "winners", N, K, ref.device)
    lo = _pairs(losers, "losers", N, K, ref.device)
    if w.shape != lo.shape:
        raise ValueError(f"winners and losers must have the same shape, got {tuple(w.shape)} "
                         f"and {tuple(lo.shape)}")
    M = w.shape[1]
    gen = None
    if batch_size is not None:
        batch_size = check_integer(batch_size, "batch_size", minimum=1)
        rng = seed_zero_if_none(rng, "train_bandits() with a batch_size", stacklevel=3)
        gen = _generator(rng, ref.device)
    if isinstance(beta, (int, float)) and not isinstance(beta, bool):
        groups = [(check_positive(beta, "beta"), None)]
    else:
        bt = torch.as_tensor(beta, dtype=torch.float64).reshape(-1).cpu()
        if bt.numel() == 1:
            bt = bt.expand(N)
        if bt.shape[0] != N:
            raise ValueError(f"beta must be a number or have shape ({N},), got {tuple(bt.shape)}")
        groups = []
        for b in torch.unique(bt).tolist():
            rows = torch.nonzero(bt == b).reshape(-1).to(ref.device)
            groups.append((check_positive(b, "beta"), rows))
        if len(groups) == 1:
            groups = [(groups[0][0], None)]
    log_ref = torch.log_softmax(ref, dim=1).detach()
    theta = theta0.detach().clone().requires_grad_(True)
    opt = (torch.optim.Adam([theta], lr=lr) if optimizer == "adam"
           else torch.optim.SGD([theta], lr=lr))
    history = []
    for step in range(n_steps):
        if batch_size is None:
            bw, bl = w, lo
        else:
            idx = torch.randint(0, M, (N, batch_size), generator=gen, device=ref.device)
            bw, bl = torch.gather(w, 1, idx), torch.gather(lo, 1, idx)
        opt.zero_grad(set_to_none=True)
        _mean_loss(fn, theta, log_ref, bw, bl, groups, loss_options).sum().backward()
        opt.step()
        if record_every and (step + 1) % record_every == 0:
            with torch.no_grad():
                history.append(_mean_loss(fn, theta, log_ref, w, lo, groups, loss_options))
    # the certificate: the full-dataset gradient at the final logits (instances are independent,
    # so the gradient of the summed mean losses is each instance's own gradient)
    opt.zero_grad(set_to_none=True)
    final = _mean_loss(fn, theta, log_ref, w, lo, groups, loss_options)
    final.sum().backward()
    certificate = theta.grad.detach().abs().amax(dim=1)
    with torch.no_grad():
        hist = torch.stack(history) if history else torch.zeros(0, N, dtype=ref.dtype,
                                                                device=ref.device)
        logits = theta.detach().clone()
        return BanditTrainingResult(logits=logits, policy=torch.softmax(logits, dim=1),
                                    value=final.detach(), history=hist, iterations=n_steps,
                                    certificate=certificate)
