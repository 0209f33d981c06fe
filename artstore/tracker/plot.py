"""``artstore.plot``: W&B's ``wandb.plot`` charts, each a :class:`~artstore.tracker.media.Table`
with a chart spec (``table.chart``: the chart type and which columns it draws).

``line``, ``scatter``, ``bar`` and ``histogram`` draw columns of a table given; the
classifier charts (``confusion_matrix``, ``roc_curve``, ``pr_curve``) compute their table from
labels and scores, with numpy. ``split_table`` is accepted and has no effect (the table is
always kept with the chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artstore.errors import InvalidValueError
from artstore.tracker.media import Table, require_numpy

__all__ = ["bar", "confusion_matrix", "histogram", "line", "pr_curve", "roc_curve", "scatter"]


def _chart(kind: str, table: Any, title: str | None, **columns: str | None) -> Table:
    if not isinstance(table, Table):
        raise InvalidValueError(
            f"plot.{kind} draws an artstore.Table, not a {type(table).__name__}"
        )
    for role, name in columns.items():
        if name is not None and name not in (table.columns or []):
            raise InvalidValueError(
                f"plot.{kind}: {role}={name!r} is not a column of the table "
                f"({', '.join(table.columns or [])})"
            )
    chart = Table(columns=table.columns, data=table.data)
    spec = {"type": kind, **{k: v for k, v in columns.items() if v is not None}}
    chart.chart = {**spec, "title": title or ""}
    return chart


def line(
    table: Table,
    x: str,
    y: str,
    stroke: str | None = None,
    title: str = "",
    split_table: bool = False,
) -> Table:
    """A line chart of column ``y`` against ``x`` (one line per value of ``stroke``).

    Raises:
        InvalidValueError: not a Table, or a name that is not one of its columns.
    """
    return _chart("line", table, title, x=x, y=y, stroke=stroke)


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> Table:
    """A scatter plot of column ``y`` against ``x``.

    Raises:
        InvalidValueError: not a Table, or a name that is not one of its columns.
    """
    return _chart("scatter", table, title, x=x, y=y)


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> Table:
    """A bar chart: one bar of ``value`` per ``label``.

    Raises:
        InvalidValueError: not a Table, or a name that is not one of its columns.
    """
    return _chart("bar", table, title, label=label, value=value)


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> Table:
    """A histogram of column ``value``.

    Raises:
        InvalidValueError: not a Table, or a name that is not one of its columns.
    """
    return _chart("histogram", table, title, value=value)


def _labels(classes: int, labels: Sequence[Any] | None) -> list[str]:
    if labels is None:
        return [str(i) for i in range(classes)]
    if len(labels) < classes:
        raise InvalidValueError(f"{len(labels)} labels name fewer than the {classes} classes")
    return [str(label) for label in labels]


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: Sequence[Any] | None = None,
    title: str = "",
    split_table: bool = False,
) -> Table:
    """A confusion matrix of ``y_true`` (class indices) against ``preds`` (class indices) or
    ``probs`` (scores per class, the highest taken): a table of Actual, Predicted,
    nPredictions.

    Raises:
        InvalidValueError: both or neither of ``preds`` and ``probs``, lengths that differ,
            a class index outside the classes.
    """
    np = require_numpy()
    if (preds is None) == (probs is None):
        raise InvalidValueError("confusion_matrix takes preds= or probs=, one of them")
    truth = np.asarray(y_true if y_true is not None else [], dtype=np.int64).ravel()
    guess = (
        np.asarray(preds, dtype=np.int64).ravel()
        if preds is not None
        else np.asarray(probs, dtype=float).argmax(axis=1)
    )
    if truth.shape != guess.shape or truth.size == 0:
        raise InvalidValueError("confusion_matrix: y_true and the predictions differ in length")
    classes = int(max(truth.max(), guess.max())) + 1
    if class_names is not None:
        classes = max(classes, len(class_names))
    if truth.min() < 0 or guess.min() < 0:
        raise InvalidValueError("confusion_matrix: class indices are 0 or more")
    names = _labels(classes, class_names)
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (truth, guess), 1)
    data = [[names[a], names[p], int(counts[a, p])] for a in range(classes) for p in range(classes)]
    table = Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
    return _chart("confusion_matrix", table, title, x="Predicted", y="Actual")


def _scores(y_true: Any, y_probas: Any, kind: str) -> tuple[Any, Any]:
    np = require_numpy()
    truth = np.asarray(y_true, dtype=np.int64).ravel()
    scores = np.asarray(y_probas, dtype=float)
    if scores.ndim == 1:
        scores = np.stack([1.0 - scores, scores], axis=1)
    if scores.ndim != 2 or scores.shape[0] != truth.size or truth.size == 0:
        raise InvalidValueError(f"{kind}: y_probas is (samples, classes) for the y_true given")
    if not np.isfinite(scores).all():
        raise InvalidValueError(f"{kind}: y_probas holds NaN or infinite values")
    return truth, scores


def _curve(truth: Any, score: Any) -> tuple[Any, Any, Any]:
    """True and false positives at each distinct threshold, highest first."""
    np = require_numpy()
    order = np.argsort(-score, kind="stable")
    score, hit = score[order], truth[order]
    last = np.r_[np.nonzero(np.diff(score))[0], hit.size - 1]
    tps = np.cumsum(hit)[last]
    fps = (last + 1) - tps
    return tps, fps, hit.sum()


def _classes(scores: Any, classes_to_plot: Sequence[int] | None) -> list[int]:
    chosen = list(range(scores.shape[1])) if classes_to_plot is None else list(classes_to_plot)
    for c in chosen:
        if not 0 <= int(c) < scores.shape[1]:
            raise InvalidValueError(f"class {c} is not among the {scores.shape[1]} classes")
    return [int(c) for c in chosen]


def roc_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[int] | None = None,
    title: str = "",
    split_table: bool = False,
) -> Table:
    """ROC curves, one per class: a table of class, fpr, tpr.

    Raises:
        InvalidValueError: shapes that do not match, NaN scores, an unknown class.
    """
    np = require_numpy()
    truth, scores = _scores(y_true, y_probas, "roc_curve")
    names = _labels(scores.shape[1], labels)
    data: list[list[Any]] = []
    for c in _classes(scores, classes_to_plot):
        tps, fps, positives = _curve((truth == c).astype(np.int64), scores[:, c])
        negatives = truth.size - positives
        tpr = np.r_[0.0, tps / positives] if positives else np.zeros(tps.size + 1)
        fpr = np.r_[0.0, fps / negatives] if negatives else np.zeros(fps.size + 1)
        data += [[names[c], float(f), float(t)] for f, t in zip(fpr, tpr, strict=True)]
    table = Table(columns=["class", "fpr", "tpr"], data=data)
    return _chart("roc_curve", table, title, x="fpr", y="tpr", stroke="class")


def pr_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[int] | None = None,
    interp_size: int = 21,
    title: str = "",
    split_table: bool = False,
) -> Table:
    """Precision-recall curves, one per class, precision interpolated at ``interp_size``
    recall points from 0 to 1: a table of class, recall, precision.

    Raises:
        InvalidValueError: shapes that do not match, NaN scores, an unknown class.
    """
    np = require_numpy()
    if type(interp_size) is not int or not 2 <= interp_size <= 10_000:
        raise InvalidValueError("interp_size is a whole number from 2 to 10000")
    truth, scores = _scores(y_true, y_probas, "pr_curve")
    names = _labels(scores.shape[1], labels)
    grid = np.linspace(0.0, 1.0, interp_size)
    data: list[list[Any]] = []
    for c in _classes(scores, classes_to_plot):
        tps, fps, positives = _curve((truth == c).astype(np.int64), scores[:, c])
        precision = tps / np.maximum(tps + fps, 1)
        recall = tps / positives if positives else np.zeros(tps.size)
        for r in grid:
            reached = precision[recall >= r]
            data.append([names[c], float(r), float(reached.max()) if reached.size else 0.0])
    table = Table(columns=["class", "recall", "precision"], data=data)
    return _chart("pr_curve", table, title, x="recall", y="precision", stroke="class")
