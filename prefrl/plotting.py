"""Small plotting helpers shared by the figure scripts (matplotlib, no global pyplot state).

- :func:`new_figure`: a figure and its 2-D axes array, sized per panel;
- :func:`save_figure`: write a PNG, creating the folder;
- :func:`band`: a mean over seeds with a normal 95% band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ._validation import check_array, check_integer, check_positive

__all__ = ["band", "new_figure", "save_figure"]


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.2, **kw):
    """A ``Figure`` and its axes array (always 2-D), sized ``width x height`` inches per panel.

    Uses :class:`matplotlib.figure.Figure` directly, so figure scripts can run in parallel
    processes or threads without touching pyplot's global state.

    Examples
    --------
    >>> fig, axes = new_figure(1, 2)
    >>> axes.shape, fig.get_size_inches().tolist()
    ((1, 2), [8.4, 3.2])
    """
    nrows = check_integer(nrows, "nrows", minimum=1)
    ncols = check_integer(ncols, "ncols", minimum=1)
    width, height = check_positive(width, "width"), check_positive(height, "height")
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` as a PNG (150 dpi), creating the folder, and return the path.

    The PNG's metadata is fixed (``Software: prefrl``, no matplotlib version), so the same
    figure gives the same bytes whatever the installed matplotlib.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig, axes = new_figure()
    >>> path = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "sub" / "f.png")
    >>> path.exists()
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, metadata={"Software": "prefrl"})
    return path


def band(ax, x, samples, *, label=None, color=None, z: float = 1.96):
    r"""Plot the mean of ``samples`` (shape (n_seeds, len(x))) with a normal 95% band for the mean.

    The band is :math:`\bar x \pm z\, s / \sqrt{n}` with :math:`s` the sample standard deviation
    over the :math:`n` seeds (no band for one seed). A NaN sample marks a seed without a value at
    that point (a censored run): the mean and band are then NaN there and the plot shows a gap;
    an infinite sample raises a ValueError naming ``samples``.

    Examples
    --------
    >>> fig, axes = new_figure()
    >>> line = band(axes[0, 0], [0, 1, 2], [[0, 1, 2], [0, 1, 4]], label="mean")
    >>> line.get_ydata().tolist()
    [0.0, 1.0, 3.0]
    """
    samples = check_array(samples, "samples", ndim=2, finite=False)
    if np.any(np.isinf(samples)):
        idx = tuple(int(i) for i in np.argwhere(np.isinf(samples))[0])
        raise ValueError(f"samples[{idx[0]}, {idx[1]}] is {samples[idx]}, must be finite or NaN")
    x = check_array(x, "x", ndim=1, shape=(samples.shape[1],), like="samples")
    mean = samples.mean(axis=0)
    n = samples.shape[0]
    half = z * samples.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=0.25, linewidth=0)
    return line
