"""The user's own data: ``load_dataset("file", path=...)``, format from the file name.

======================  ===============================================================
file                    read as
======================  ===============================================================
``*.csv[.gz]``          comma-separated numbers; ``label`` names the label column (name
                        or index, default the last); a header row is detected (a row
                        with a non-number) unless ``header`` says
``*.npz``               arrays ``x [N, *features]`` and ``y [N]`` (``np.savez``), other
                        names via ``x_key``/``y_key``
``*idx*``/``*ubyte``    MNIST's IDX format (LeCun et al. 1998), optionally gzipped:
``[.gz]``               ``path`` the images, ``labels`` the labels file; 3-D images
                        ``[N, H, W]`` become ``[N, 1, H, W]``
======================  ===============================================================

``task`` defaults to classification when the labels are integers (or text, which maps to
class indices in sorted order, kept in ``info["classes"]``; so do negative integers),
regression otherwise.  Non-negative integer labels are kept as class indices, with
``n_classes = max + 1``.  ``flatten`` turns ``[N, *features]`` into ``[N, F]``.  Every
problem with the file raises ``ValueError`` in the project's format.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from weightlab._validate import OPTIONAL, Constraint, Instance, Interval, OneOf, error_summary, fail
from weightlab.data.base import BOOL, TASKS, Arrays, register

__all__ = ["read_csv", "read_idx", "read_npz"]

Array = npt.NDArray[Any]

PATH = Instance((str, os.PathLike), "a path (str or os.PathLike)")
_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "path": PATH,
    "label": (Instance((str,), "a column name (str)"), Interval(integer=True), OPTIONAL),
    "header": (BOOL, OPTIONAL),
    "x_key": Instance((str,), "a str"),
    "y_key": Instance((str,), "a str"),
    "labels": (PATH, OPTIONAL),
    "task": (OneOf(TASKS), OPTIONAL),
    "flatten": BOOL,
}
# Parameters that only one format reads; setting one for another format is a mistake.
_FORMAT_PARAMS = {"csv": ("label", "header"), "npz": ("x_key", "y_key"), "idx": ("labels",)}
_DEFAULTS = {"label": None, "header": None, "x_key": "x", "y_key": "y", "labels": None}

# IDX type codes (third magic byte) and their big-endian dtypes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    name = name.removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if re.search(r"idx\d", name) or name.endswith("ubyte"):
        return "idx"
    expected = "a .csv[.gz], .npz or IDX file (such as train-images-idx3-ubyte[.gz])"
    raise fail("load_dataset", "path", expected, str(path))


def _existing(value: str | os.PathLike[str], param: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise fail("load_dataset", param, "an existing file", str(value))
    return path


def _read_bytes(path: Path, param: str) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.name.lower().endswith(".gz") else raw
    except (OSError, EOFError, zlib.error) as error:
        expected = f"a readable file ({error_summary(error)})"
        raise fail("load_dataset", param, expected, str(path)) from None


def _columns(names: list[str]) -> str:
    shown = ", ".join(names[:20])
    return shown if len(names) <= 20 else f"{shown}, … ({len(names)} columns)"


def _label_column(label: str | int | None, names: list[str], path: Path) -> int:
    width = len(names)
    if label is None:
        return width - 1
    if isinstance(label, str) and label in names:
        return names.index(label)
    if isinstance(label, int) and -width <= label < width:
        return label % width
    expected = f"a column of {path.name} ({_columns(names)}) or an index in [{-width}, {width - 1}]"
    raise fail("load_dataset", "label", expected, label)


def _first_bad(cells: Array, lines: list[int], names: list[str], columns: list[int]) -> str:
    """Where the first non-number or non-finite number is, for the error message."""
    for r, row in enumerate(cells):
        for c in columns:
            try:
                ok = np.isfinite(float(row[c]))
            except ValueError:
                ok = False
            if not ok:
                return f"line {lines[r]}, column {names[c]!r} holds {str(row[c])!r}"
    return "unknown cell"


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank rows with their line numbers."""
    try:
        text = _read_bytes(path, "path").decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text))
        return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (UnicodeDecodeError, csv.Error) as error:
        expected = f"a readable CSV file ({error_summary(error)})"
        raise fail("load_dataset", "path", expected, str(path)) from None


def _csv_layout(
    rows: list[tuple[int, list[str]]], header: bool | None, path: Path
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Column names (from the header, else "0", "1", ...) and the data rows."""
    if header is None:
        header = bool(rows) and not _all_numbers(rows[0][1])
    body = rows[1:] if header else rows
    if not body:
        raise fail("load_dataset", "path", "a CSV file with at least one data row", str(path))
    width = len(body[0][1])
    if width < 2:
        expected = "a CSV file with at least 2 columns (features and a label)"
        raise fail("load_dataset", "path", expected, str(path))
    for line, row in rows:
        if len(row) != width:
            expected = f"a CSV file with {width} columns in every row (line {line} has {len(row)})"
            raise fail("load_dataset", "path", expected, str(path))
    names = [c.strip() for c in rows[0][1]] if header else [str(i) for i in range(width)]
    return names, body


def read_csv(
    path: Path, label: str | int | None = None, header: bool | None = None
) -> tuple[Array, Array, list[str], str]:
    """Read a CSV file into float64 features ``[N, F]`` and label cells ``[N]`` (numbers
    when all are numbers, else text), with the feature and label column names."""
    names, body = _csv_layout(_csv_rows(path), header, path)
    column = _label_column(label, names, path)
    features = [i for i in range(len(names)) if i != column]
    cells = np.array([[c.strip() for c in row] for _, row in body], dtype=str)
    lines = [line for line, _ in body]
    try:
        x = cells[:, features].astype(np.float64)
        finite = bool(np.isfinite(x).all())
    except ValueError:
        finite = False
    if not finite:
        where = _first_bad(cells, lines, names, features)
        raise fail("load_dataset", "path", f"a CSV file of finite numbers ({where})", str(path))
    empty = np.flatnonzero(cells[:, column] == "")
    if len(empty):
        where = f"line {lines[empty[0]]}, column {names[column]!r}"
        raise fail("load_dataset", "path", f"a CSV file without empty labels ({where})", str(path))
    return x, _numbers_or_text(cells[:, column]), [names[i] for i in features], names[column]


def _all_numbers(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def _numbers_or_text(cells: Array) -> Array:
    try:
        return cells.astype(np.float64)
    except ValueError:
        return cells


def read_npz(path: Path, x_key: str = "x", y_key: str = "y") -> tuple[Array, Array]:
    """Read arrays ``x_key`` and ``y_key`` from an ``np.savez`` archive (no pickles)."""
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:
        expected = f"a readable .npz file ({error_summary(error)})"
        raise fail("load_dataset", "path", expected, str(path)) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        expected = "a .npz archive of named arrays (np.savez), not a single array"
        raise fail("load_dataset", "path", expected, str(path))
    with archive:
        for key, param in ((x_key, "x_key"), (y_key, "y_key")):
            if key not in archive.files:
                names = ", ".join(archive.files) or "no arrays"
                raise fail("load_dataset", param, f"an array name in {path.name} ({names})", key)
        try:
            return np.asarray(archive[x_key]), np.asarray(archive[y_key])
        except Exception as error:
            expected = f"a readable .npz file ({error_summary(error)})"
            raise fail("load_dataset", "path", expected, str(path)) from None


def read_idx(path: Path, param: str = "path") -> Array:
    """Read an IDX file: magic ``0 0 type ndim``, ``ndim`` big-endian uint32 sizes, then
    the values big-endian (LeCun, Cortes & Burges, the MNIST database)."""
    raw = _read_bytes(path, param)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise fail("load_dataset", param, "an IDX file (magic bytes 0 0 type ndim)", str(path))
    start = 4 + 4 * raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw[4:start], dtype=">u4"))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(shape)) if shape else 0
    if len(shape) != raw[3] or len(raw) != start + count * dtype.itemsize:
        expected = f"an IDX file whose size matches its header (shape {shape}, {len(raw)} bytes)"
        raise fail("load_dataset", param, expected, str(path))
    return np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape)


def _labels(
    y: Array, task: str | None, path: Path
) -> tuple[Array, str, int | None, dict[str, Any]]:
    """Labels → (class indices or targets, task, n_classes, info)."""
    if y.dtype.kind not in "biufUS":
        expected = f"a file of numeric or text labels (y has dtype {y.dtype})"
        raise fail("load_dataset", "path", expected, str(path))
    numeric = y.dtype.kind in "biuf"
    if numeric and not np.isfinite(y).all():
        expected = "a file of finite labels (found nan or inf)"
        raise fail("load_dataset", "path", expected, str(path))
    integral = numeric and bool((y == np.round(y)).all())
    task = task or ("regression" if numeric and not integral else "classification")
    if task == "regression":
        if not numeric:
            example = str(y.flat[0])
            expected = f"'classification' for text labels (such as {example!r})"
            raise fail("load_dataset", "task", expected, task)
        return y.astype(np.float64), task, None, {}
    if numeric and not integral:
        fraction = float(y[y != np.round(y)][0])
        expected = f"'regression' for labels that are not integers (such as {fraction})"
        raise fail("load_dataset", "task", expected, task)
    classes = np.unique(y)
    if len(classes) < 2:
        expected = f"a file whose labels hold at least 2 classes (all are {classes.tolist()[0]!r})"
        raise fail("load_dataset", "path", expected, str(path))
    if numeric and classes[0] >= 0:
        return y.astype(np.int64), task, int(classes[-1]) + 1, {}
    return np.searchsorted(classes, y), task, len(classes), {"classes": classes.tolist()}


def _inputs(x: Array, path: Path, flatten: bool) -> Array:
    if x.dtype.kind not in "biuf":
        expected = f"a file of numeric inputs (x has dtype {x.dtype})"
        raise fail("load_dataset", "path", expected, str(path))
    if x.ndim < 2:
        expected = f"a file whose inputs are at least 2-D [N, *features] (x has shape {x.shape})"
        raise fail("load_dataset", "path", expected, str(path))
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise fail("load_dataset", "path", "a file of finite inputs (found nan or inf)", str(path))
    return x.reshape(len(x), -1) if flatten else x


def _pair(x: Array, y: Array, path: Path) -> Array:
    y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        expected = f"a file whose labels are 1-D [N] (y has shape {y.shape})"
        raise fail("load_dataset", "path", expected, str(path))
    if len(x) != len(y):
        expected = f"inputs and labels of one length (x has {len(x)}, y has {len(y)})"
        raise fail("load_dataset", "path", expected, str(path))
    return y


def _only_for(fmt: str, values: dict[str, Any]) -> None:
    for other, params in _FORMAT_PARAMS.items():
        for name in params:
            if other != fmt and values[name] != _DEFAULTS[name]:
                expected = f"left unset for a {fmt} file (it applies to {other} files)"
                raise fail("load_dataset", name, expected, values[name])


@register("file", _TABLE, val_fraction=0.25)
def _file(
    rng: np.random.Generator,
    path: str | os.PathLike[str],
    label: str | int | None = None,
    header: bool | None = None,
    x_key: str = "x",
    y_key: str = "y",
    labels: str | os.PathLike[str] | None = None,
    task: str | None = None,
    flatten: bool = False,
) -> Arrays:
    """Your own data from a .csv, .npz or MNIST IDX file."""
    found = _existing(path, "path")
    fmt = _format(found)
    given = {"label": label, "header": header, "x_key": x_key, "y_key": y_key, "labels": labels}
    _only_for(fmt, given)
    info: dict[str, Any] = {"source": str(found), "format": fmt}
    if fmt == "csv":
        x, y, info["feature_names"], info["label"] = read_csv(found, label, header)
    elif fmt == "npz":
        x, y = read_npz(found, x_key, y_key)
    else:
        x = read_idx(found)
        if labels is None:
            expected = "the IDX labels file (such as train-labels-idx1-ubyte) for IDX images"
            raise fail("load_dataset", "labels", expected, None)
        y = read_idx(_existing(labels, "labels"), "labels")
        x = x[:, None] if x.ndim == 3 else x
    x = _inputs(x, found, flatten)
    y = _pair(x, y, found)
    y, task, n_classes, extra = _labels(y, task, found)
    return Arrays(x, y, task, n_classes, {**info, **extra})
