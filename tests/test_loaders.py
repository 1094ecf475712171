"""Loaders on tiny files in the real formats, and on the real offline copies when present."""
from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from xairepro.data.loaders import (
    CIFAR10_CLASSES,
    ESOL_TARGET,
    TOX21_TASKS,
    DataFormatError,
    load_aclimdb,
    load_cifar10,
    load_glove,
    load_hemolytic,
    load_hemolytic_onehot,
    load_iris,
    load_moleculenet_csv,
)

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import make_fixtures as fx  # noqa: E402

from conftest import SHARED_DATA, needs_shared_data  # noqa: E402


# --------------------------------------------------------------------------- MoleculeNet CSV

def test_tox21_tasks_are_the_moleculenet_columns_in_order():
    assert TOX21_TASKS == fx.TOX21_TASKS


def test_tox21_csv_gz_keeps_missing_labels_as_nan(tmp_path):
    frame = load_moleculenet_csv(fx.make_tox21_csv_gz(tmp_path), id_col="mol_id", tasks=TOX21_TASKS)
    assert list(frame.columns) == ["mol_id", "smiles", *TOX21_TASKS]
    assert frame.shape == (4, 14)
    assert frame["smiles"].tolist() == ["CCO", "c1ccncc1", "CC(=O)O", "[Na+].[Cl-]"]
    assert all(frame[task].dtype == np.float64 for task in TOX21_TASKS)
    row = frame.set_index("mol_id").loc["TOX2"]
    assert row["NR-AR"] == 1.0 and np.isnan(row["NR-AR-LBD"]) and row["SR-p53"] == 0.0
    assert frame[list(TOX21_TASKS)].isna().sum().sum() == 1 + 11 + 6
    assert frame.set_index("mol_id").loc["TOX3", "SR-p53"] == 1.0


def test_esol_csv_strips_trailing_space_and_keeps_all_columns(tmp_path):
    path = fx.make_esol_csv(tmp_path)
    everything = load_moleculenet_csv(path)
    assert everything.shape == (3, 10)
    assert not everything["smiles"].str.endswith(" ").any()
    assert everything["smiles"][0].startswith("OCC3OC(")
    frame = load_moleculenet_csv(path, id_col="Compound ID", tasks=[ESOL_TARGET])
    assert frame[ESOL_TARGET].tolist() == [-0.77, -3.3, -2.06]
    assert frame["Compound ID"].tolist() == ["Amigdalin", "Fenfuram", "citral"]


def test_moleculenet_errors_name_the_file(tmp_path):
    path = fx.make_esol_csv(tmp_path)
    with pytest.raises(DataFormatError, match=rf"{path.name}.*missing column.*'nope'"):
        load_moleculenet_csv(path, tasks=["nope"])
    with pytest.raises(DataFormatError, match=rf"{path.name}.*'Compound ID' is not numeric"):
        load_moleculenet_csv(path, tasks=["Compound ID"])
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_moleculenet_csv(tmp_path / "absent.csv")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08 definitely not gzip")
    with pytest.raises(DataFormatError, match="broken.csv.gz"):
        load_moleculenet_csv(broken)
    empty_smiles = tmp_path / "empty.csv"
    empty_smiles.write_text("smiles,y\nCCO,1\n,0\n")
    with pytest.raises(DataFormatError, match=r"empty.csv: empty SMILES in data row\(s\) \[1\]"):
        load_moleculenet_csv(empty_smiles)


# --------------------------------------------------------------------------- CIFAR-10

def assert_cifar_pixels(images, labels, expected, split):
    assert images.shape == (len(expected), 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels.tolist() == [c for c, _ in expected]
    for image, (c, i) in zip(images, expected):
        np.testing.assert_array_equal(image, fx.cifar_pixels(c, i, split))


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_python_batches_from_tarball(tmp_path, split):
    images, labels, classes = load_cifar10(fx.make_cifar10_python_tarball(tmp_path), split)
    assert classes == list(CIFAR10_CLASSES) == list(fx.CIFAR10_CLASSES)
    assert_cifar_pixels(images, labels, fx.cifar_python_expected()[split], split)


def test_cifar10_python_batches_from_extracted_folder_and_limit(tmp_path):
    tarball = fx.make_cifar10_python_tarball(tmp_path, n_per_class=3)
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "extracted", filter="data")
    from_tar = load_cifar10(tarball, "train")
    from_dir = load_cifar10(tmp_path / "extracted" / "cifar-10-batches-py", "train")
    np.testing.assert_array_equal(from_tar[0], from_dir[0])
    np.testing.assert_array_equal(from_tar[1], from_dir[1])
    images, labels, _ = load_cifar10(tarball, "train", limit_per_class=1)
    expected = fx.cifar_python_expected(n_per_class=3)["train"]
    first_of_each = [item for k, item in enumerate(expected) if item[0] not in [c for c, _ in expected[:k]]]
    assert_cifar_pixels(images, labels, first_of_each, "train")


def test_cifar10_image_folders_sorted_by_class_then_name(tmp_path):
    tarball = fx.make_cifar10_image_tarball(tmp_path, n_train_per_class=3)
    images, labels, _ = load_cifar10(tarball, "train")
    assert_cifar_pixels(images, labels, [(c, i) for c in range(10) for i in range(3)], "train")
    test_images, test_labels, _ = load_cifar10(tarball, "test")
    assert_cifar_pixels(test_images, test_labels, [(c, 0) for c in range(10)], "test")
    limited, limited_labels, _ = load_cifar10(tarball, "train", limit_per_class=2)
    assert_cifar_pixels(limited, limited_labels, [(c, i) for c in range(10) for i in range(2)], "train")
    folder = tmp_path / "cifar10-staging"  # the folder the tarball was packed from
    from_dir, dir_labels, _ = load_cifar10(folder, "train")
    np.testing.assert_array_equal(from_dir, images)
    np.testing.assert_array_equal(dir_labels, labels)


def test_cifar10_bad_inputs_name_the_file(tmp_path):
    not_tar = tmp_path / "cifar.tar.gz"
    not_tar.write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="cifar.tar.gz"):
        load_cifar10(not_tar)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as archive:
        archive.add(fx.make_esol_csv(tmp_path), arcname="data/esol.csv")
    with pytest.raises(DataFormatError, match="other.tar.gz: no CIFAR-10 train data found"):
        load_cifar10(other)
    from PIL import Image
    (tmp_path / "big/train/cat").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(tmp_path / "big/train/cat/0001.png")
    with pytest.raises(DataFormatError, match=r"train/cat/0001.png is 64x64"):
        load_cifar10(tmp_path / "big")
    with pytest.raises(ValueError, match="split"):
        load_cifar10(other, "validation")


# --------------------------------------------------------------------------- IMDB

def test_aclimdb_train_from_tarball(tmp_path):
    frame = load_aclimdb(fx.make_aclimdb_tarball(tmp_path), "train")
    assert list(frame.columns) == ["text", "label", "rating", "id"]
    assert [str(t) for t in frame.dtypes[1:]] == ["int64"] * 3
    # Negatives first, then positives, each by numeric id (10 after 3).
    assert frame[["label", "id"]].values.tolist() == [[0, 0], [0, 3], [0, 10], [1, 0], [1, 1], [1, 2]]
    assert frame["rating"].tolist() == [2, 4, 1, 9, 10, 7]
    assert frame["text"][0] == "Dull. Too long."
    assert frame["text"][3] == "A fine film.  Would watch again."
    assert not frame["text"].str.contains("<br", regex=False).any()
    assert fx.UNSUP_REVIEW not in frame["text"].tolist()


def test_aclimdb_test_split_limit_and_extracted_folder(tmp_path):
    tarball = fx.make_aclimdb_tarball(tmp_path)
    test = load_aclimdb(tarball, "test")
    assert test[["label", "rating", "id"]].values.tolist() == [[0, 3, 4], [1, 8, 5]]
    assert test["text"][1] == "Charming and funny."
    limited = load_aclimdb(tarball, "train", limit=3)
    assert limited[["label", "id"]].values.tolist() == [[0, 0], [1, 0], [1, 1]]
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "x", filter="data")
    from_dir = load_aclimdb(tmp_path / "x" / "aclImdb", "train")
    assert from_dir.equals(load_aclimdb(tarball, "train"))


def test_aclimdb_without_reviews_is_an_error(tmp_path):
    (tmp_path / "empty/aclImdb/train").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="empty.*no aclImdb reviews"):
        load_aclimdb(tmp_path / "empty")


# --------------------------------------------------------------------------- hemolytic

def test_hemolytic_sequences_and_labels(tmp_path):
    path = fx.make_hemolytic_npz(tmp_path)
    sequences, labels = load_hemolytic(path)
    assert sequences == list(fx.HEMOLYTIC_POSITIVES + fx.HEMOLYTIC_NEGATIVES)
    assert labels.tolist() == [1, 1, 0, 0, 0] and labels.dtype == np.int64
    positives, negatives = load_hemolytic_onehot(path)
    assert positives.shape == (2, 200, 20) and negatives.shape == (3, 200, 20)


def test_hemolytic_malformed_arrays_name_the_file(tmp_path):
    gap = fx.peptide_onehot(("ACD",))
    gap[0, 1] = 0  # a hole inside the sequence, not at its end
    path = tmp_path / "gap.npz"
    np.savez(path, positives=gap, negatives=fx.peptide_onehot(("ACD",)))
    with pytest.raises(DataFormatError, match=r"gap.npz: positives\[0\] is not a zero-padded one-hot"):
        load_hemolytic(path)
    np.savez(tmp_path / "nokey.npz", positives=gap)
    with pytest.raises(DataFormatError, match="nokey.npz: array 'negatives' not found"):
        load_hemolytic(tmp_path / "nokey.npz")


# --------------------------------------------------------------------------- iris, GloVe

def test_iris():
    x, y, features, classes = load_iris()
    assert x.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]
    assert features[2:] == ["petal length (cm)", "petal width (cm)"]
    assert classes == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("make", [fx.make_glove_txt_gz, fx.make_glove_zip])
def test_glove_formats(tmp_path, make):
    vectors = load_glove(make(tmp_path))
    assert list(vectors) == list(fx.GLOVE_WORDS)
    assert vectors["film"].dtype == np.float32 and vectors["film"].shape == (100,)
    np.testing.assert_allclose(vectors["film"], fx.glove_vector(2), rtol=1e-6)
    assert set(load_glove(make(tmp_path), vocab={"movie", "unknown"})) == {"movie"}


def test_glove_plain_text_and_errors(tmp_path):
    plain = tmp_path / "glove.txt"
    plain.write_text(fx.glove_lines(dim=3))
    assert load_glove(plain)["the"].tolist() == pytest.approx(fx.glove_vector(0, 3).tolist())
    bad = tmp_path / "bad.txt"
    bad.write_text("the 1 2 3\nof 1 2\n")
    with pytest.raises(DataFormatError, match="bad.txt, line 2: expected a word and 3 numbers"):
        load_glove(bad)
    with pytest.raises(DataFormatError, match="member 'glove.6B.300d.txt' not found"):
        load_glove(fx.make_glove_zip(tmp_path), member="glove.6B.300d.txt")


# --------------------------------------------------------------------------- real offline copies

@pytest.mark.shared_data
@needs_shared_data
class TestSharedData:
    def test_esol(self):
        frame = load_moleculenet_csv(SHARED_DATA / "esol/delaney-processed.csv", id_col="Compound ID",
                                     tasks=[ESOL_TARGET])
        assert len(frame) == 1128
        assert not frame["smiles"].str.endswith(" ").any()
        assert frame[ESOL_TARGET].between(-11.61, 1.59).all()

    def test_tox21(self):
        frame = load_moleculenet_csv(SHARED_DATA / "tox21/tox21.csv", id_col="mol_id", tasks=TOX21_TASKS)
        assert frame.shape == (7831, 14)
        missing = frame[list(TOX21_TASKS)].isna()
        assert missing.sum().sum() == 16026 and missing["NR-AR"].sum() == 566
        assert (frame["SR-MMP"] == 1).sum() == 918

    def test_hemolytic(self):
        positives, negatives = load_hemolytic_onehot(SHARED_DATA / "hemolytic/hemolytic.npz")
        assert positives.shape == negatives.shape == (317, 200, 20)
        sequences, labels = load_hemolytic(SHARED_DATA / "hemolytic/hemolytic.npz")
        assert sequences[0] == "SIAISSDIRPIWYKESIARLSEWVSFNV"
        assert labels.sum() == 317 and len(sequences) == 634
        assert 10 <= min(map(len, sequences)) and max(map(len, sequences)) == 133

    def test_imdb_test_subset(self):
        frame = load_aclimdb(SHARED_DATA / "imdb/aclImdb_v1_labeled.tar.gz", "test", limit=6)
        assert frame["label"].tolist() == [0, 0, 0, 1, 1, 1]
        assert frame["rating"][frame["label"] == 0].between(1, 4).all()
        assert frame["rating"][frame["label"] == 1].between(7, 10).all()
        assert frame["text"][0].startswith("Once again Mr. Costner has dragged out a movie")
        assert not frame["text"].str.contains("<br />", regex=False).any()

    def test_cifar10_jpeg_subset(self):
        images, labels, classes = load_cifar10(SHARED_DATA / "cifar10/cifar10-jpeg.tar.gz", "train",
                                               limit_per_class=2)
        assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == [2] * 10
        assert classes[0] == "airplane" and classes[-1] == "truck"
        assert 20 < images.mean() < 235  # real pictures, not blank decodes

    def test_glove_sample(self):
        vectors = load_glove(SHARED_DATA / "glove/glove.6B.100d.sample.txt.gz")
        assert len(vectors) == 100 and next(iter(vectors)) == "the"
        assert {v.shape for v in vectors.values()} == {(100,)}
