"""Representational similarity analysis (Kriegeskorte, Mur & Bandettini 2008).

- ``rdm``: representational dissimilarity matrices with correlation distance, (squared) Euclidean distance
  per neuron (rsatoolbox's convention, so distances do not grow with the population size), cosine distance,
  and crossnobis: the cross-validated (leave-one-repeat-out) squared Mahalanobis distance, an unbiased
  estimate of the squared distance between the noise-free patterns (Walther et al. 2016; Nili et al. 2014).
- ``compare_rdms``: Spearman, Pearson, Kendall's tau-a, cosine, and whitened Pearson (the correlation of
  the double-centred second-moment matrices implied by the RDMs, i.e. the whitened-unbiased RDM correlation
  with the distances' covariance taken as that of i.i.d. patterns; Diedrichsen et al. 2021).
- ``rsa_noise_ceiling``: the upper and lower bound over subjects of Nili et al. (2014): each subject's RDM
  compared with the pooled RDM of all subjects (upper) or of the others (lower), pooled as rsatoolbox's noise
  ceiling does: mean ranks for rank correlations, mean z-scores for (whitened) Pearson, mean RMS-scaled RDMs
  for cosine.
- ``rsa_score``: a model RDM against one or several reference RDMs, as a ``Score`` with the ceiling and a
  percentile bootstrap CI over stimuli (pairs of a stimulus with its own copy are dropped).
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from scipy.stats import kendalltau

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.core.workspace import scratch
from neurosafe.data.recording import make_responses, validate_responses
from neurosafe.data.stimuli import format_ids
from neurosafe.metrics.bootstrap import bootstrap_statistic
from neurosafe.metrics.score import Score, provenance

__all__ = ["COMPARISONS", "DISTANCES", "compare_rdms", "rdm", "rsa_noise_ceiling", "rsa_score"]

DISTANCES = ("correlation", "euclidean", "cosine", "crossnobis")
COMPARISONS = ("spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson")


# --------------------------------------------------------------------------------------------- RDMs
def _patterns(responses) -> tuple[xr.DataArray | np.ndarray, np.ndarray | None]:
    """Validated responses and, for a plain array, its row means: a (stimulus, neuron) float64 array when
    ``responses`` is an array of finite values (finite row sums need finite terms; nothing else in the schema
    to check), else a validated DataArray (whose checks name the offending neurons and stimuli) and None."""
    if isinstance(responses, np.ndarray):
        values = np.asarray(responses, dtype=np.float64)
        if values.ndim == 2 and values.size:
            with np.errstate(over="ignore", invalid="ignore"):
                means = np.add.reduce(values, axis=1) / values.shape[1]  # as values.mean(axis=1)
            if np.isfinite(means).all():
                return values, means
        return make_responses(values, dims=("stimulus", "neuron")), None
    return validate_responses(responses), None


def _all_finite(x: np.ndarray) -> bool:
    """No NaN or inf in ``x``: one summing pass (a finite sum needs finite terms), elementwise only if it
    overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(x, axis=None))) or bool(np.isfinite(x).all())


@functools.lru_cache(maxsize=8)
def _default_template(n: int, distance: str) -> xr.DataArray:
    """A value-less RDM over stimulus ids "0".."n-1", made once per size and distance: the RDM of a plain array
    is a shallow copy of it with its own values (ten times cheaper than building the coordinates each time;
    the copy's attrs are its own, its ids are read-only index coordinates)."""
    ids = np.arange(n).astype(str)
    return xr.DataArray(np.broadcast_to(0.0, (n, n)), dims=("stimulus_a", "stimulus_b"),
                        coords={"stimulus_a": ids, "stimulus_b": ids}, attrs={"distance": distance}, name="rdm")


def _wrap(d: np.ndarray, ids: np.ndarray | None, distance: str, symmetric: bool = False) -> xr.DataArray:
    if not symmetric:
        d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    if ids is None:
        return _default_template(len(d), distance).copy(deep=False, data=d)
    ids = ids.astype(str)
    return xr.DataArray(d, dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": ids, "stimulus_b": ids},
                        attrs={"distance": distance}, name="rdm")


def _unit_rows(x: np.ndarray, ids: np.ndarray, what: str) -> np.ndarray:
    """Rows of ``x`` scaled to unit length, in place; an error names all-zero rows."""
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    bad = norm <= 1e-12 * max(norm.max(), 1e-300)
    if bad.any():
        kind = "constant" if what == "correlation" else "zero"
        raise DataValidationError(f"{what} distance is undefined for stimuli with a {kind} response pattern: "
                                  f"{format_ids(ids[bad])}")
    x /= norm[:, None]
    return x


def _precision(noise, trials: np.ndarray) -> np.ndarray:
    """Noise precision over neurons: identity, a given matrix, or 'diagonal' from the residuals."""
    n_neurons = trials.shape[1]
    if noise is None:
        return np.eye(n_neurons)
    if isinstance(noise, str):
        if noise != "diagonal":
            raise NeurosafeError(f"noise must be None, 'diagonal' or a precision matrix; got {noise!r}")
        residuals = trials - trials.mean(axis=2, keepdims=True)
        dof = trials.shape[0] * (trials.shape[2] - 1)
        var = (residuals**2).sum(axis=(0, 2)) / dof
        if (var <= 0).any():
            raise DataValidationError("'diagonal' noise normalization needs trial-to-trial variance in every neuron")
        return np.diag(1.0 / var)
    noise = np.asarray(noise, dtype=np.float64)
    if noise.shape != (n_neurons, n_neurons):
        raise DataValidationError(f"noise precision must be ({n_neurons}, {n_neurons}); got {noise.shape}")
    return noise


def rdm(responses, distance: str = "correlation", noise=None) -> xr.DataArray:
    """RDM (stimulus_a, stimulus_b) of ``responses`` (stimulus, neuron[, repeat]).

    Repeats are averaged except for ``crossnobis``, which needs >= 2 complete repeats and uses them as
    cross-validation folds; its ``noise`` is None (identity: cross-validated Euclidean), ``"diagonal"``
    (univariate noise normalization from the residuals) or a precision matrix (neuron, neuron).
    """
    if distance not in DISTANCES:
        raise NeurosafeError(f"distance must be one of {DISTANCES}; got {distance!r}")
    responses, means = _patterns(responses)
    if isinstance(responses, np.ndarray):  # finite (stimulus, neuron) values, stimulus ids 0..n-1
        x, ids = responses, None
    else:
        ids = responses["stimulus_id"].values
        if "time" in responses.dims:
            raise DataValidationError("reduce the 'time' dim first (e.g. sum spike counts over a window)")
        if distance == "crossnobis":
            return _wrap(_crossnobis(responses, noise), ids, distance)
        mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
        x = np.asarray(mean.transpose("stimulus", "neuron").values, dtype=np.float64)  # not written to below
        if np.isnan(x).any():
            raise DataValidationError("responses have a neuron with no valid repeat on some stimulus")
    if distance == "crossnobis":
        raise DataValidationError("crossnobis needs responses with a 'repeat' dim of at least 2 repeats")
    if distance == "euclidean":
        sq = (x**2).sum(axis=1)
        d = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0) / x.shape[1]
        return _wrap(d, ids, distance)
    # the centred (correlation) or copied (cosine) rows, scaled in place: scratch, only their Gram is returned
    rows = scratch("rdm rows", x.shape)
    if distance == "correlation":
        np.subtract(x, (x.mean(axis=1) if means is None else means)[:, None], out=rows)
    else:
        np.copyto(rows, x)
    u = _unit_rows(rows, np.arange(len(x)) if ids is None else ids, distance)
    d = u @ u.T  # numpy computes x @ x.T with BLAS syrk and mirrors it: exactly symmetric
    np.subtract(1.0, d, out=d)
    return _wrap(d, ids, distance, symmetric=True)


def _crossnobis(responses: xr.DataArray, noise) -> np.ndarray:
    if "repeat" not in responses.dims or responses.sizes["repeat"] < 2:
        raise DataValidationError("crossnobis needs responses with a 'repeat' dim of at least 2 repeats")
    trials = responses.transpose("stimulus", "neuron", "repeat").values.astype(np.float64)
    missing = np.isnan(trials).any(axis=(1, 2))
    if missing.any():
        ids = responses["stimulus_id"].values[missing]
        raise DataValidationError("crossnobis needs every repeat of every stimulus (repeats are the CV folds); "
                                  f"stimuli with missing repeats: {format_ids(ids)}")
    precision = _precision(noise, trials)
    n_rep = trials.shape[2]
    total = trials.sum(axis=2)
    d = np.zeros((trials.shape[0], trials.shape[0]))
    for r in range(n_rep):
        test = trials[:, :, r]
        train = (total - test) / (n_rep - 1)
        k = train @ precision @ test.T
        diag = np.diag(k)
        d += diag[:, None] + diag[None, :] - k - k.T
    return d / (n_rep * trials.shape[1])


# ------------------------------------------------------------------------------------- comparisons
def _stack(rdms, name: str) -> tuple[np.ndarray, np.ndarray | None, xr.DataArray | None]:
    """(k, n, n) float array, stimulus ids (or None), and the DataArray (or None) of one or several RDMs."""
    da = rdms if isinstance(rdms, xr.DataArray) else None
    if da is not None:
        if set(da.dims) - {"rdm", "stimulus_a", "stimulus_b"} or not {"stimulus_a", "stimulus_b"} <= set(da.dims):
            raise DataValidationError(f"{name}: an RDM needs dims (stimulus_a, stimulus_b) and optionally 'rdm'; "
                                      f"got {da.dims}")
        order = tuple(d for d in ("rdm", "stimulus_a", "stimulus_b") if d in da.dims)
        da = da if da.dims == order else da.transpose(*order)
        ids = da["stimulus_a"].values.astype(str, copy=False) if "stimulus_a" in da.coords else None
        arr = da.values
    else:
        arr, ids = np.asarray(rdms), None
    arr = np.asarray(arr, dtype=np.float64)
    arr = arr[None] if arr.ndim == 2 else arr
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] < 3:
        raise DataValidationError(f"{name}: RDMs must be square (n, n) or (k, n, n) with n >= 3; got {arr.shape}")
    if not _all_finite(arr):
        raise DataValidationError(f"{name}: RDMs contain NaN or inf")
    return arr, ids, da


def _align(a: np.ndarray, ids_a, b: np.ndarray, ids_b) -> np.ndarray:
    """``b`` reordered to ``a``'s stimulus order (by id when both have ids)."""
    if a.shape[1] != b.shape[1]:
        raise DataValidationError(f"RDMs over different numbers of stimuli: {a.shape[1]} and {b.shape[1]}")
    if ids_a is None or ids_b is None or np.array_equal(ids_a, ids_b):
        return b
    if set(ids_a) != set(ids_b):
        raise DataValidationError(
            "RDMs over different stimulus ids: only in the first "
            f"{format_ids(sorted(set(ids_a) - set(ids_b))) or 'none'}; only in the second "
            f"{format_ids(sorted(set(ids_b) - set(ids_a))) or 'none'}"
        )
    pos = {s: i for i, s in enumerate(ids_b)}
    order = np.array([pos[s] for s in ids_a])
    return b[:, order][:, :, order]


@functools.lru_cache(maxsize=8)
def _upper_index(n: int) -> np.ndarray:
    """Flat indices of the strict upper triangle of an (n, n) matrix (row-major = ``triu_indices`` order)."""
    i, j = np.triu_indices(n, k=1)
    flat = i * n + j
    flat.flags.writeable = False
    return flat


def _upper(arr: np.ndarray) -> np.ndarray:
    """Upper triangles (k, n(n-1)/2) of RDMs (k, n, n): one gather by cached flat indices."""
    return arr.reshape(len(arr), -1).take(_upper_index(arr.shape[1]), axis=1)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = np.sqrt(np.einsum("ij,ij->i", a, a)), np.sqrt(np.einsum("ij,ij->i", b, b))
    if (na == 0).any() or (nb == 0).any():
        raise DataValidationError("comparison undefined for a constant RDM (zero vector after centring)")
    return (a @ b.T) / na[:, None] / nb[None, :]


def _centre(v: np.ndarray) -> np.ndarray:
    return v - v.mean(axis=1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _positions(m: int, first: float) -> tuple[np.ndarray, np.ndarray]:
    """(0..m-1 as int64, first..first+m-1 as float64), read-only, cached: the keys' low bits and the ranks."""
    idx, ranks = np.arange(m, dtype=np.int64), np.arange(m, dtype=np.float64) + first
    idx.flags.writeable = ranks.flags.writeable = False
    return idx, ranks


def _sort_order(source: np.ndarray, first: float = 1.0, index: np.ndarray | None = None,
                keys: np.ndarray | None = None, spare: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How the float64 values ``source`` (1-D) or ``source[index]`` sort: (``order``, ``fixed``, ``fixed_ranks``)
    such that the value at ``order[k]`` has average rank ``first + k`` (counted from ``first``, 1 as scipy's
    ``rankdata``; ties share their mean rank), except at the sorted positions ``fixed``, whose ranks are
    ``fixed_ranks``. Keys: the values' bit patterns (ordered as the values when none is negative, else those of
    ``values - min``), their lowest b bits replaced by the b-bit position, so one sort of int64 keys (numpy's
    SIMD sort, several times faster than ``argsort``) orders the values, except inside a shared bin (values
    equal in all but their last b mantissa bits), whose few members are then ordered by value (ties can only
    sit there). The keys are gathered straight from ``source`` (an RDM's upper triangle needs no copy of its
    own) into ``keys``, which becomes ``order``; ``spare`` (float64, as long) is overwritten."""
    source = np.ascontiguousarray(source, dtype=np.float64)
    m = len(source) if index is None else len(index)
    keys = np.empty(m, dtype=np.int64) if keys is None else keys
    spare = np.empty(m) if spare is None else spare
    patterns = source.view(np.int64)
    if index is None:
        np.copyto(keys, patterns)
    else:
        np.take(patterns, index, out=keys, mode="clip")  # "raise" would gather into a buffer first
    idx = _positions(m, first)[0]
    bits = max(m - 1, 1).bit_length()  # the position's bits
    mask = (1 << bits) - 1
    keys &= ~mask
    keys |= idx
    keys.sort()
    if keys[0] < 0:  # a negative value (or -0.0): rank values - min, all >= +0.0, whose bit patterns are ordered
        values = source if index is None else source.take(index)
        lo = values.min()
        with np.errstate(over="ignore"):  # monotone; an overflow to inf only merges bins
            np.subtract(values, lo if lo != 0 else -0.0, out=spare)  # v - (-0.0) = v + 0.0 turns -0.0 into +0.0
        np.bitwise_and(spare.view(np.int64), ~mask, out=keys)
        keys |= idx
        keys.sort()
    gap = spare.view(np.int64)[: m - 1]  # differences of consecutive sorted keys
    np.subtract(keys[1:], keys[:-1], out=gap)
    near = np.flatnonzero(gap <= mask)  # every pair in a shared bin (and a few across adjacent bins)
    shared = near[(keys[near] >> bits) == (keys[near + 1] >> bits)]
    fixed = np.union1d(shared, shared + 1)  # sorted positions in shared bins
    bins = keys[fixed] >> bits
    keys &= mask  # the positions in sorted order
    if not len(fixed):
        return keys, fixed, np.empty(0)
    members = keys[fixed]
    values = source[members if index is None else index[members]]
    by_value = np.lexsort((values, bins))
    keys[fixed], ordered = members[by_value], values[by_value]
    new = np.ones(len(fixed), dtype=bool)
    new[1:] = (fixed[1:] != fixed[:-1] + 1) | (ordered[1:] != ordered[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, len(fixed)])
    return keys, fixed, np.repeat(np.add.reduceat(fixed.astype(np.float64), starts) / counts + first, counts)


def _rank_row(source: np.ndarray, out: np.ndarray, first: float = 1.0, index: np.ndarray | None = None,
              keys: np.ndarray | None = None) -> None:
    """Average ranks (from ``first``) of ``source`` or ``source[index]`` into ``out`` (:func:`_sort_order`;
    ``out`` is its scratch space until the ranks go in)."""
    order, fixed, fixed_ranks = _sort_order(source, first, index, keys, out)
    out.put(order, _positions(len(out), first)[1])  # the scatter (a little faster than out[order] = ...)
    out[order[fixed]] = fixed_ranks


def _centred_first(m: int) -> float:
    """The first rank of centred average ranks of m values: average ranks sum to m(m+1)/2 with or without
    ties, so ranks counted from 1 - (m+1)/2 sum to 0 (Spearman's r is then the cosine of the ranks)."""
    return 1 - (m + 1) / 2


def _check_rankable(m: int) -> None:
    if m >= 2**32:
        raise DataValidationError(f"cannot rank more than 2^32 - 1 dissimilarities; got {m}")


def _ranks(v: np.ndarray, first: float = 1.0, index: np.ndarray | None = None, out: np.ndarray | None = None
           ) -> np.ndarray:
    """Average ranks (from ``first``) of each row of ``v`` (k, m), or of each row's entries at ``index``
    (:func:`_rank_row`; for RDMs (k, n, n) flattened to (k, n*n) and the upper triangle's flat index, no copies
    of the triangles), into ``out`` (k, m) when given."""
    m = v.shape[1] if index is None else len(index)
    _check_rankable(m)
    out = np.empty((len(v), m)) if out is None else out
    keys = scratch("rank keys", m, np.int64)
    for row, values in zip(out, np.ascontiguousarray(v), strict=True):
        _rank_row(values, row, first, index, keys)
    return out


def _spearman(a: np.ndarray, b: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """Spearman correlations (k_a, k_b) of the rows of ``a`` and ``b`` (or of their entries at ``index``: for
    RDMs (k, n, n), flattened, the upper triangle's flat index): the cosine of centred average ranks. ``a``'s
    ranks are laid out; each row of ``b`` is only sorted and ``a``'s ranks are gathered in its order, a gather
    in place of a scatter and no array of ``b``'s ranks: sum_i ra_i rb_i = sum_k ra[order_k] rb_(k), where
    rb_(k) is ``first + k`` but at the few fixed positions (:func:`_sort_order`)."""
    m = a.shape[1] if index is None else len(index)
    _check_rankable(m)  # before any buffer of that size is requested
    first = _centred_first(m)
    ra = _ranks(a, first, index, out=scratch("spearman ranks", (len(a), m)))
    ranks = _positions(m, first)[1]
    sum_sq = ranks @ ranks
    keys, gathered = scratch("rank keys", m, np.int64), scratch("spearman gathered", ra.shape)
    dots, norms_b = np.empty((len(ra), len(b))), np.empty(len(b))
    for j, row in enumerate(np.ascontiguousarray(b)):
        order, fixed, fixed_ranks = _sort_order(row, first, index, keys, gathered[0])
        np.take(ra, order, axis=1, out=gathered, mode="clip")
        if 2 * len(fixed) > m:  # mostly ties (a categorical RDM): b's ranks in full, no cancellation below
            rb = ranks.copy()
            rb[fixed] = fixed_ranks
            dots[:, j], norms_b[j] = gathered @ rb, rb @ rb
        else:  # the plain ranks with the fixed positions' corrections
            delta = fixed_ranks - ranks[fixed]
            dots[:, j] = gathered @ ranks + gathered[:, fixed] @ delta
            norms_b[j] = sum_sq + delta @ (fixed_ranks + ranks[fixed])
    norms_a = np.einsum("ij,ij->i", ra, ra)
    if (norms_a == 0).any() or (norms_b <= 0).any():
        raise DataValidationError("comparison undefined for a constant RDM (zero vector after centring)")
    return dots / np.sqrt(norms_a)[:, None] / np.sqrt(norms_b)[None, :]


def _second_moments(v: np.ndarray) -> np.ndarray:
    """Double-centred -D/2 (k, n*n) of centred RDM vectors v (k, n(n-1)/2): the whitened RDM vectors."""
    m = round((1 + np.sqrt(1 + 8 * v.shape[1])) / 2)
    i, j = np.triu_indices(m, k=1)
    d = np.zeros((len(v), m, m))
    d[:, i, j] = v
    d[:, j, i] = v
    g = -0.5 * d
    g = g - g.mean(axis=1, keepdims=True) - g.mean(axis=2, keepdims=True) + g.mean(axis=(1, 2), keepdims=True)
    return g.reshape(len(v), -1)


def _tau_a(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-a: (concordant - discordant pairs) / all pairs, from scipy's tau-b and the tie counts."""
    tot = len(x) * (len(x) - 1) / 2

    def ties(v: np.ndarray) -> float:
        c = np.unique(v, return_counts=True)[1].astype(float)
        return float((c * (c - 1) / 2).sum())

    tx, ty = ties(x), ties(y)
    if tx == tot or ty == tot:
        raise DataValidationError("Kendall's tau-a is undefined for a constant RDM")
    return float(kendalltau(x, y).statistic * np.sqrt((tot - tx) * (tot - ty)) / tot)


def _compare_vectors(a: np.ndarray, b: np.ndarray, method: str, b_ranks: np.ndarray | None = None) -> np.ndarray:
    """Similarities (k_a, k_b) between RDM vectors (``b_ranks``: ``b``'s ranks, when already computed)."""
    if method == "cosine":
        return _cosine(a, b)
    if method == "pearson":
        return _cosine(_centre(a), _centre(b))
    if method == "spearman":
        if b_ranks is None:
            return _spearman(a, b)
        first = _centred_first(a.shape[1])
        return _cosine(_ranks(a, first), b_ranks - (1 - first))
    if method == "whitened_pearson":
        return _cosine(_second_moments(_centre(a)), _second_moments(_centre(b)))
    if method == "kendall_tau_a":
        return np.array([[_tau_a(x, y) for y in b] for x in a])
    raise NeurosafeError(f"method must be one of {COMPARISONS}; got {method!r}")


def compare_rdms(a, b, method: str = "spearman") -> float | np.ndarray:
    """Similarity of RDM(s) ``a`` with RDM(s) ``b``: a float for two single RDMs, else an array (k_a, k_b).

    RDMs are DataArrays (dims ``stimulus_a``, ``stimulus_b``, optional ``rdm``; reordered by stimulus id)
    or arrays (n, n) / (k, n, n); only the upper triangles are compared.
    """
    arr_a, ids_a, da_a = _stack(a, "first RDM")
    arr_b, ids_b, da_b = _stack(b, "second RDM")
    arr_b = _align(arr_a, ids_a, arr_b, ids_b)
    if method == "spearman":  # ranked straight from the RDMs (no copies of the triangles)
        sim = _spearman(arr_a.reshape(len(arr_a), -1), arr_b.reshape(len(arr_b), -1), _upper_index(arr_a.shape[1]))
    else:
        sim = _compare_vectors(_upper(arr_a), _upper(arr_b), method)
    single = (arr_a.shape[0] == 1 and (da_a is None or "rdm" not in da_a.dims)) and (
        arr_b.shape[0] == 1 and (da_b is None or "rdm" not in da_b.dims))
    return float(sim[0, 0]) if single else sim


# ------------------------------------------------------------------------------------ noise ceiling
def _pool(v: np.ndarray, method: str, ranks: np.ndarray | None = None) -> np.ndarray:
    """The RDM vector (1, m) that best represents ``v`` (k, m) under ``method`` (Nili et al. 2014);
    ``ranks``: ``v``'s ranks, when already computed."""
    if method in ("spearman", "kendall_tau_a"):
        v = _ranks(v) if ranks is None else ranks
    elif method in ("pearson", "whitened_pearson"):
        v = _centre(v) / v.std(axis=1, keepdims=True)
    elif method == "cosine":
        v = v / np.sqrt((v**2).mean(axis=1, keepdims=True))
    return v.mean(axis=0, keepdims=True)


def _group_labels(da: xr.DataArray | None, k: int, groups: str | None) -> np.ndarray:
    if groups is None:
        return np.arange(k)
    if da is None or groups not in da.coords or da[groups].dims != ("rdm",):
        raise DataValidationError(f"no coordinate {groups!r} along the 'rdm' dim to group RDMs by")
    return da[groups].values


def _ceiling_from_vectors(v: np.ndarray, labels: np.ndarray, method: str) -> tuple[float, float]:
    levels = np.unique(labels)
    if len(levels) < 2:
        raise DataValidationError(f"a noise ceiling needs RDMs of at least 2 subjects; got {len(levels)}")
    ranks = _ranks(v) if method in ("spearman", "kendall_tau_a") else None  # each RDM ranked once
    everyone = _pool(v, method, ranks)
    lower, upper = [], []
    for level in levels:
        held = labels == level
        rest = _pool(v[~held], method, None if ranks is None else ranks[~held])
        held_ranks = None if ranks is None else ranks[held]
        lower.append(np.mean(_compare_vectors(rest, v[held], method, held_ranks)))
        upper.append(np.mean(_compare_vectors(everyone, v[held], method, held_ranks)))
    return float(np.mean(lower)), float(np.mean(upper))


def rsa_noise_ceiling(rdms, method: str = "spearman", groups: str | None = None) -> tuple[float, float]:
    """(lower, upper) bound of the RSA noise ceiling over subjects' RDMs (k, n, n) (Nili et al. 2014).

    ``groups``: a coordinate along ``rdm`` (e.g. ``"subject"``) whose levels are left out together (their
    RDMs' similarities averaged); default: every RDM is its own subject.
    """
    if method not in COMPARISONS:
        raise NeurosafeError(f"method must be one of {COMPARISONS}; got {method!r}")
    arr, _, da = _stack(rdms, "reference RDMs")
    return _ceiling_from_vectors(_upper(arr), _group_labels(da, len(arr), groups), method)


# ------------------------------------------------------------------------------------------- score
def _as_rdms(x, distance: str, name: str) -> xr.DataArray | np.ndarray:
    """RDM(s) as given, or the RDM of responses (DataArray with dims stimulus, neuron)."""
    if isinstance(x, xr.DataArray) and "stimulus" in x.dims:
        return rdm(x, distance)
    if isinstance(x, xr.DataArray | np.ndarray):
        return x
    raise DataValidationError(f"{name} must be responses or RDM(s); got {type(x).__name__}")


def rsa_score(model, reference, method: str = "spearman", distance: str = "correlation", groups: str | None = None,
              n_boot: int = 200, seed: int = 0, ci_level: float = 0.95) -> Score:
    """RSA of a model against reference RDMs: the mean similarity over references, ceiled by the noise ceiling.

    ``model``/``reference``: responses (stimulus, neuron[, repeat]) - turned into RDMs with ``distance`` -
    or RDMs. With >= 2 reference RDMs (subjects), ``ceiling`` is the upper bound of the noise ceiling, the
    lower bound is in the provenance, and ``ceiled_value`` = value / upper bound. ``per_unit``: the
    similarity with each reference RDM. CI: bootstrap over stimuli (pairs of a stimulus with its own copy
    dropped; for ``whitened_pearson``, whose double-centring needs whole matrices, each resample compares
    the RDMs of the resampled patterns, D[idx][:, idx], copies at distance 0 included).
    """
    model_arr, model_ids, _ = _stack(_as_rdms(model, distance, "model"), "model RDM")
    ref_arr, ref_ids, ref_da = _stack(_as_rdms(reference, distance, "reference"), "reference RDMs")
    if len(model_arr) != 1:
        raise DataValidationError(f"the model must be one RDM; got {len(model_arr)}")
    model_arr = _align(ref_arr, ref_ids, model_arr, model_ids)
    per_ref = _compare_vectors(_upper(model_arr), _upper(ref_arr), method)[0]
    value = float(per_ref.mean())
    names = (ref_da["rdm"].values.astype(str) if ref_da is not None and "rdm" in ref_da.coords
             else np.array([f"rdm_{i}" for i in range(len(ref_arr))]))
    per_unit = xr.DataArray(per_ref, dims=("rdm",), coords={"rdm": names}, name=f"rsa_{method}")
    ceiling = lower = None
    if len(ref_arr) >= 2:
        lower, ceiling = _ceiling_from_vectors(_upper(ref_arr), _group_labels(ref_da, len(ref_arr), groups), method)

    def boot(idx: np.ndarray) -> float:
        if method == "whitened_pearson":  # double-centring needs whole matrices: the resampled patterns' RDMs
            m, r = model_arr[:, idx][:, :, idx], ref_arr[:, idx][:, :, idx]
            return float(_compare_vectors(_upper(m), _upper(r), method).mean())
        i, j = np.triu_indices(len(idx), k=1)
        keep = idx[i] != idx[j]
        a, b = idx[i][keep], idx[j][keep]
        return float(_compare_vectors(model_arr[:, a, b], ref_arr[:, a, b], method).mean())

    params = {"method": method, "distance": distance, "groups": groups, "n_boot": n_boot}
    return Score.from_bootstrap(
        bootstrap_statistic(boot, ref_arr.shape[1], n_boot, seed), ref_arr.shape[1], ci_level,
        per_unit=per_unit, ceiling=ceiling, ceiled_value=None if ceiling is None else value / ceiling,
        provenance=provenance("rsa", params, data=ref_arr, seed=seed, noise_ceiling_lower=lower,
                                       n_stimuli=int(ref_arr.shape[1])))
