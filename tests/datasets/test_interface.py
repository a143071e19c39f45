"""The public interface the CLI and the dashboard are coded against."""

import json

import numpy as np
import pytest

from datasets import DatasetError, Preprocessing, infer_roles, load_table, prepare
from datasets.samples import DEFAULT_SAMPLE, SAMPLES, sample_path


@pytest.mark.parametrize("key", list(SAMPLES))
def test_samples_load_and_prepare(key):
    """Every bundled sample reads, gets a label and yields a finite matrix."""
    table = load_table(sample_path(key))
    spec = infer_roles(table.frame, schema=table.schema)
    prepared = prepare(table.frame, spec, name=table.name)
    assert prepared.X.dtype == np.float64
    assert np.isfinite(prepared.X).all()
    assert prepared.X.shape == (len(table.frame), len(prepared.feature_names))
    assert spec.label_column == "label"
    assert "label" not in prepared.feature_names
    assert set(np.unique(prepared.y_true)) == {0, 1}


def test_default_sample_is_cardio():
    assert DEFAULT_SAMPLE == "cardio"
    assert SAMPLES["cardio"].kind == "tabular"


def test_preprocessing_round_trips_through_json():
    table = load_table(sample_path("nslkdd"))
    spec = infer_roles(table.frame, schema=table.schema)
    again = Preprocessing.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    np.testing.assert_array_equal(
        prepare(table.frame, again).X, prepare(table.frame, spec).X
    )


def test_upload_object_with_getvalue_is_read():
    class Upload:
        name = "up.csv"

        def getvalue(self):
            return b"a,b\n1,2\n3,4\n"

    table = load_table(Upload())
    assert table.name == "up.csv"
    assert table.frame.shape == (2, 2)


def test_unknown_label_lists_close_names():
    table = load_table(sample_path("cardio"))
    with pytest.raises(DatasetError, match="did you mean 'label'"):
        infer_roles(table.frame, label="lable")


@pytest.mark.parametrize(
    "filename", ["cardio.csv.gz", "nslkdd.csv.gz", "synth_tm.csv.gz"]
)
def test_make_samples_regenerates_the_bundled_bytes(filename, tmp_path, monkeypatch):
    """The README's sampling commands reproduce the shipped files exactly."""
    from datasets import make_samples

    monkeypatch.setattr(make_samples, "SAMPLES_DIR", tmp_path)
    frame = make_samples.MAKERS[filename](make_samples.DEFAULT_SOURCE)
    make_samples.write_csv_gz(frame, tmp_path / filename)
    assert (tmp_path / filename).read_bytes() == sample_path(
        next(k for k, s in SAMPLES.items() if s.filename == filename)
    ).read_bytes()
