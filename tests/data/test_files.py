"""The user's own files: CSV, NPZ and MNIST IDX (plain and gzipped), and every bad input."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from weightlab.data import load_dataset

from .conftest import msg, same

CSV = """sepal,petal,width,species
5.1,1.4,0.2,setosa
4.9,1.4,0.2,setosa
6.3,4.9,1.5,versicolor
5.8,4.1,1.0,versicolor
7.1,5.9,2.1,virginica
6.5,5.2,2.0,virginica
5.0,1.5,0.2,setosa
6.0,4.5,1.5,versicolor
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _idx(path: Path, array: np.ndarray, code: int = 0x08) -> Path:
    """Write ``array`` in the IDX format by hand: magic 0 0 type ndim, sizes, data."""
    dtype = {0x08: ">u1", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(dtype).tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _mnist_like(tmp_path: Path, suffix: str = "", n: int = 12) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 4, 3))
    labels = np.arange(n) % 10
    return (
        _idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images),
        _idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels),
    )


# --- reading --------------------------------------------------------------------------------


def test_csv_with_header_and_text_label_column_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "iris.csv", CSV)
    data = load_dataset("file", path=path, label="species", standardize=False, val_fraction=0.5)
    assert data.task == "classification" and data.n_classes == 3
    assert data.input_shape == (3,)
    assert data.info["classes"] == ["setosa", "versicolor", "virginica"]
    assert (
        data.info["feature_names"] == ["sepal", "petal", "width"] and data.info["format"] == "csv"
    )
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    assert y[torch.isclose(x[:, 0], torch.tensor(7.1))].tolist() == [2]  # virginica


def test_csv_label_by_index_and_default_last_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "a,b,c\n1,0,2\n3,1,4\n5,0,6\n7,1,8\n")
    last = load_dataset("file", path=path, standardize=False, seed=1)
    middle = load_dataset("file", path=path, label=1, standardize=False, seed=1)
    negative = load_dataset("file", path=path, label=-2, standardize=False, seed=1)
    assert last.info["label"] == "c" and last.task == "classification" and last.n_classes == 9
    assert middle.info["label"] == "b" and middle.n_classes == 2
    assert middle.info["feature_names"] == ["a", "c"]
    assert same(middle, negative)


def test_csv_without_header_and_forced_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "plain.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    auto = load_dataset("file", path=path, standardize=False)
    assert len(auto.y_train) + len(auto.y_val) == 4
    assert auto.info["feature_names"] == ["0", "1"]
    forced = load_dataset("file", path=path, header=True, standardize=False, val_fraction=0.5)
    assert forced.info["feature_names"] == ["1", "2"]
    assert len(forced.y_train) + len(forced.y_val) == 3


def test_csv_float_labels_make_a_regression(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "x,y\n1,0.5\n2,1.5\n3,2.5\n4,3.0\n")
    data = load_dataset("file", path=path)
    assert data.task == "regression" and data.n_classes is None
    assert data.y_train.dtype == torch.float32
    as_regression = load_dataset("file", path=path, label=0, task="regression")
    assert as_regression.task == "regression"


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv.gz"
    path.write_bytes(gzip.compress(CSV.encode()))
    plain = load_dataset("file", path=_write(tmp_path / "iris.csv", CSV))
    assert same(load_dataset("file", path=path), plain)


def test_negative_integer_labels_map_to_classes(tmp_path: Path) -> None:
    path = tmp_path / "pm.npz"
    np.savez(path, x=np.arange(8.0).reshape(4, 2), y=np.array([-1, 1, -1, 1]))
    data = load_dataset("file", path=str(path), standardize=False)
    assert data.n_classes == 2 and data.info["classes"] == [-1, 1]
    assert set(torch.cat([data.y_train, data.y_val]).tolist()) == {0, 1}


def test_npz_default_and_custom_keys(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3, 2))
    y = rng.integers(0, 4, size=(20, 1))
    np.savez(tmp_path / "a.npz", x=x, y=y)
    np.savez(tmp_path / "b.npz", inputs=x, targets=y[:, 0])
    a = load_dataset("file", path=tmp_path / "a.npz", standardize=False)
    b = load_dataset("file", path=tmp_path / "b.npz", x_key="inputs", y_key="targets")
    assert a.input_shape == (3, 2) and a.n_classes == int(y.max()) + 1
    everything = torch.cat([a.x_train, a.x_val]).double().numpy()
    assert np.allclose(np.sort(everything, axis=0), np.sort(x, axis=0), atol=1e-6)
    assert b.input_shape == (3, 2)
    flat = load_dataset("file", path=tmp_path / "a.npz", flatten=True)
    assert flat.input_shape == (6,)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_images_and_labels(tmp_path: Path, suffix: str) -> None:
    images, labels = _mnist_like(tmp_path, suffix)
    data = load_dataset("file", path=images, labels=labels, standardize=False, val_fraction=0.25)
    assert data.input_shape == (1, 4, 3) and data.n_classes == 10
    assert data.x_train.shape == (9, 1, 4, 3) and data.x_val.shape == (3, 1, 4, 3)
    assert data.info["format"] == "idx"
    pixels = torch.cat([data.x_train, data.x_val])
    assert pixels.min() >= 0 and pixels.max() <= 255
    flat = load_dataset("file", path=images, labels=labels, flatten=True)
    assert flat.input_shape == (12,)


def test_idx_float_data(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 24).reshape(6, 4)
    images = _idx(tmp_path / "x-idx2-float", x, code=0x0D)
    labels = _idx(tmp_path / "y-idx1-ubyte", np.array([0, 1, 0, 1, 0, 1]))
    data = load_dataset("file", path=images, labels=labels, standardize=False)
    assert data.input_shape == (4,)
    got = np.sort(torch.cat([data.x_train, data.x_val]).numpy(), axis=0)
    assert np.allclose(got, np.sort(x, axis=0))


# --- errors ---------------------------------------------------------------------------------


def _fails(message: str, error: type[Exception] = ValueError, **params: Any) -> None:
    with pytest.raises(error, match=msg(message)):
        load_dataset("file", **params)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    _fails(
        f"The 'path' parameter of load_dataset must be an existing file. Got {str(missing)!r}.",
        path=missing,
    )
    _fails(
        f"The 'path' parameter of load_dataset must be an existing file. Got {str(tmp_path)!r}.",
        path=tmp_path,
    )
    _fails(
        "The 'path' parameter of load_dataset must be a path (str or os.PathLike). Got 3.",
        TypeError,
        path=3,
    )


def test_unknown_format(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.txt", "1,2\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a .csv[.gz], .npz or IDX file (such as train-images-idx3-ubyte[.gz]). Got {str(path)!r}.",
        path=path,
    )


def test_unreadable_files(tmp_path: Path) -> None:
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    _fails(
        "The 'path' parameter of load_dataset must be a readable CSV file (UnicodeDecodeError:",
        path=binary,
    )
    bad_npz = _write(tmp_path / "bad.npz", "not a zip archive")
    _fails("The 'path' parameter of load_dataset must be a readable .npz file (", path=bad_npz)
    bad_gz = tmp_path / "images-idx3-ubyte.gz"
    bad_gz.write_bytes(b"not gzip")
    _fails(
        "The 'path' parameter of load_dataset must be a readable file (BadGzipFile:", path=bad_gz
    )


def test_a_single_array_is_not_an_npz_archive(tmp_path: Path) -> None:
    path = tmp_path / "single.npz"
    with path.open("wb") as handle:
        np.save(handle, np.zeros((3, 2)))
    _fails(
        f"The 'path' parameter of load_dataset must be a .npz archive of named arrays (np.savez), not a single array. Got {str(path)!r}.",
        path=path,
    )


def test_bad_idx_files(tmp_path: Path) -> None:
    images, labels = _mnist_like(tmp_path)
    magic = tmp_path / "m-idx3-ubyte"
    magic.write_bytes(b"\x01\x02\x08\x03" + images.read_bytes()[4:])
    _fails(
        f"The 'path' parameter of load_dataset must be an IDX file (magic bytes 0 0 type ndim). Got {str(magic)!r}.",
        path=magic,
        labels=labels,
    )
    short = tmp_path / "s-idx3-ubyte"
    short.write_bytes(images.read_bytes()[:-5])
    _fails(
        f"The 'path' parameter of load_dataset must be an IDX file whose size matches its header (shape (12, 4, 3), {16 + 144 - 5} bytes). Got {str(short)!r}.",
        path=short,
        labels=labels,
    )
    _fails(
        "The 'labels' parameter of load_dataset must be the IDX labels file (such as train-labels-idx1-ubyte) for IDX images. Got None.",
        path=images,
    )
    missing = tmp_path / "none-idx1-ubyte"
    _fails(
        f"The 'labels' parameter of load_dataset must be an existing file. Got {str(missing)!r}.",
        path=images,
        labels=missing,
    )
    _fails(
        f"The 'labels' parameter of load_dataset must be an IDX file (magic bytes 0 0 type ndim). Got {str(magic)!r}.",
        path=images,
        labels=magic,
    )


def test_wrong_shapes(tmp_path: Path) -> None:
    one_d = tmp_path / "one_d.npz"
    np.savez(one_d, x=np.zeros(5), y=np.zeros(5))
    _fails(
        f"The 'path' parameter of load_dataset must be a file whose inputs are at least 2-D [N, *features] (x has shape (5,)). Got {str(one_d)!r}.",
        path=one_d,
    )
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, x=np.zeros((5, 2)), y=np.zeros(4))
    _fails(
        f"The 'path' parameter of load_dataset must be inputs and labels of one length (x has 5, y has 4). Got {str(mismatch)!r}.",
        path=mismatch,
    )
    two_d = tmp_path / "two_d.npz"
    np.savez(two_d, x=np.zeros((5, 2)), y=np.zeros((5, 2)))
    _fails(
        f"The 'path' parameter of load_dataset must be a file whose labels are 1-D [N] (y has shape (5, 2)). Got {str(two_d)!r}.",
        path=two_d,
    )
    images, _ = _mnist_like(tmp_path, n=12)
    labels = _idx(tmp_path / "ten-idx1-ubyte", np.arange(10))
    _fails(
        f"The 'path' parameter of load_dataset must be inputs and labels of one length (x has 12, y has 10). Got {str(images)!r}.",
        path=images,
        labels=labels,
    )


def test_missing_columns_and_keys(tmp_path: Path) -> None:
    path = _write(tmp_path / "iris.csv", CSV)
    _fails(
        "The 'label' parameter of load_dataset must be a column of iris.csv (sepal, petal, width, species) or an index in [-4, 3]. Got 'kind'.",
        path=path,
        label="kind",
    )
    _fails(
        "The 'label' parameter of load_dataset must be a column of iris.csv (sepal, petal, width, species) or an index in [-4, 3]. Got 4.",
        path=path,
        label=4,
    )
    _fails(
        "The 'label' parameter of load_dataset must be a column name (str) or an int (finite) or None. Got 1.5.",
        TypeError,
        path=path,
        label=1.5,
    )
    npz = tmp_path / "k.npz"
    np.savez(npz, a=np.zeros((4, 2)), b=np.zeros(4))
    _fails(
        "The 'x_key' parameter of load_dataset must be an array name in k.npz (a, b). Got 'x'.",
        path=npz,
    )
    _fails(
        "The 'y_key' parameter of load_dataset must be an array name in k.npz (a, b). Got 'y'.",
        path=npz,
        x_key="a",
    )


def test_non_numeric_values(tmp_path: Path) -> None:
    text = _write(tmp_path / "t.csv", "a,b,y\n1,2,0\n3,abc,1\n5,6,0\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file of finite numbers (line 3, column 'b' holds 'abc'). Got {str(text)!r}.",
        path=text,
    )
    empty = _write(tmp_path / "e.csv", "a,b,y\n1,2,0\n3,,1\n5,6,0\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file of finite numbers (line 3, column 'b' holds ''). Got {str(empty)!r}.",
        path=empty,
    )
    nan = _write(tmp_path / "n.csv", "1,2,0\n3,nan,1\n5,6,0\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file of finite numbers (line 2, column '1' holds 'nan'). Got {str(nan)!r}.",
        path=nan,
    )
    no_label = _write(tmp_path / "nl.csv", "a,y\n1,cat\n2,\n3,dog\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file without empty labels (line 3, column 'y'). Got {str(no_label)!r}.",
        path=no_label,
    )
    strings = tmp_path / "s.npz"
    np.savez(strings, x=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1]))
    _fails(
        f"The 'path' parameter of load_dataset must be a file of numeric inputs (x has dtype <U1). Got {str(strings)!r}.",
        path=strings,
    )
    inf = tmp_path / "inf.npz"
    np.savez(inf, x=np.array([[1.0], [np.inf]]), y=np.array([0, 1]))
    _fails(
        f"The 'path' parameter of load_dataset must be a file of finite inputs (found nan or inf). Got {str(inf)!r}.",
        path=inf,
    )
    nan_labels = tmp_path / "nl.npz"
    np.savez(nan_labels, x=np.zeros((2, 1)), y=np.array([0.5, np.nan]))
    _fails(
        f"The 'path' parameter of load_dataset must be a file of finite labels (found nan or inf). Got {str(nan_labels)!r}.",
        path=nan_labels,
    )


def test_bad_csv_layouts(tmp_path: Path) -> None:
    ragged = _write(tmp_path / "r.csv", "a,b,y\n1,2,0\n3,1\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file with 3 columns in every row (line 3 has 2). Got {str(ragged)!r}.",
        path=ragged,
    )
    header_only = _write(tmp_path / "h.csv", "a,b,y\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file with at least one data row. Got {str(header_only)!r}.",
        path=header_only,
    )
    empty = _write(tmp_path / "empty.csv", "\n\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file with at least one data row. Got {str(empty)!r}.",
        path=empty,
    )
    single = _write(tmp_path / "one.csv", "1\n2\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a CSV file with at least 2 columns (features and a label). Got {str(single)!r}.",
        path=single,
    )


def test_labels_that_do_not_fit_the_task(tmp_path: Path) -> None:
    iris = _write(tmp_path / "iris.csv", CSV)
    _fails(
        "The 'task' parameter of load_dataset must be 'classification' for text labels (such as 'setosa'). Got 'regression'.",
        path=iris,
        task="regression",
    )
    floats = _write(tmp_path / "f.csv", "x,y\n1,0.5\n2,1\n3,2\n")
    _fails(
        "The 'task' parameter of load_dataset must be 'regression' for labels that are not integers (such as 0.5). Got 'classification'.",
        path=floats,
        task="classification",
    )
    one_class = _write(tmp_path / "c.csv", "x,y\n1,3\n2,3\n3,3\n")
    _fails(
        f"The 'path' parameter of load_dataset must be a file whose labels hold at least 2 classes (all are 3.0). Got {str(one_class)!r}.",
        path=one_class,
    )
    _fails(
        "The 'task' parameter of load_dataset must be one of 'classification', 'regression' or None. Got 'ranking'.",
        path=iris,
        task="ranking",
    )


def test_parameters_of_another_format(tmp_path: Path) -> None:
    npz = tmp_path / "a.npz"
    np.savez(npz, x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    _fails(
        "The 'label' parameter of load_dataset must be left unset for a npz file (it applies to csv files). Got 'y'.",
        path=npz,
        label="y",
    )
    iris = _write(tmp_path / "iris.csv", CSV)
    _fails(
        "The 'x_key' parameter of load_dataset must be left unset for a csv file (it applies to npz files). Got 'inputs'.",
        path=iris,
        x_key="inputs",
    )
    _fails(
        f"The 'labels' parameter of load_dataset must be left unset for a csv file (it applies to idx files). Got {str(iris)!r}.",
        path=iris,
        labels=str(iris),
    )
