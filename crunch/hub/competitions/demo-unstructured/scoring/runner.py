"""Runner of the `demo-unstructured` competition (the shape of structural-break).

Each test dataset is one time series (rows of one ``id`` in ``X_test``, indexed by ``(id, time)``,
columns ``value`` and ``period``: 0 before the possible break, 1 after). The participant's
``infer`` is a generator: it yields once when ready, then one probability of a structural
break per dataset it takes from the stream.
"""

import os
import typing

import numpy
import pandas

from crunch.container import GeneratorWrapper
from crunch.utils import smart_call

if typing.TYPE_CHECKING:
    from crunch.runner.unstructured import RunnerContext, RunnerExecutorContext, UserModule

TARGET_COLUMN = "structural_breakpoint"
DETERMINISM_FRACTION = 0.3
DETERMINISM_TOLERANCE = 1e-8


def load_data(data_directory_path: str):
    """What a notebook's ``crunch.load_notebook().load_data()`` returns: X_train, y_train, X_test (a list of datasets)."""
    x_train, y_train = _read_train(data_directory_path)
    x_test, _ = _split_datasets(pandas.read_parquet(os.path.join(data_directory_path, "X_test.reduced.parquet")))
    return x_train, y_train, x_test


def run(context: "RunnerContext", prediction_directory_path: str):
    if context.force_first_train:
        context.execute(command="train")

    prediction_path = os.path.join(prediction_directory_path, "prediction.parquet")
    context.execute(command="infer", parameters={"fraction": 1.0, "prediction_path": prediction_path})

    if context.is_determinism_check_enabled:
        context.log(f"checking determinism: inferring again on {DETERMINISM_FRACTION * 100:.0f}% of the datasets")
        again_path = os.path.join(prediction_directory_path, "prediction.determinism.parquet")
        context.execute(command="infer", parameters={"fraction": DETERMINISM_FRACTION, "prediction_path": again_path})
        first = pandas.read_parquet(prediction_path)
        again = pandas.read_parquet(again_path)
        os.unlink(again_path)
        same = numpy.allclose(first.loc[again.index, "prediction"], again["prediction"], atol=DETERMINISM_TOLERANCE)
        context.report_determinism(bool(same))


def execute(
    context: "RunnerExecutorContext",
    module: "UserModule",
    data_directory_path: str,
    model_directory_path: str,
):
    default_values = {
        "data_directory_path": data_directory_path,
        "model_directory_path": model_directory_path,
    }

    def train():
        x_train, y_train = _read_train(data_directory_path)
        context.trip_data_fuse()
        smart_call(module.get_function("train"), default_values, {"X_train": x_train, "x_train": x_train, "y_train": y_train})

    def infer(fraction: float, prediction_path: str):
        name = "X_test.reduced.parquet" if context.is_local else "X_test.parquet"
        datasets, ids = _split_datasets(pandas.read_parquet(os.path.join(data_directory_path, name)))
        if fraction < 1.0:
            keep = int(len(datasets) * fraction)
            datasets, ids = datasets[:keep], ids[:keep]
        context.trip_data_fuse()
        infer_function = module.get_function("infer")
        wrapper = GeneratorWrapper(
            iter(datasets),
            lambda stream: smart_call(infer_function, default_values, {"X_test": stream, "x_test": stream, "datasets": stream}),
            post_processor=_as_probability,
        )
        values, _ = wrapper.collect(len(datasets))
        prediction = pandas.DataFrame({"prediction": values}, index=pandas.Index(ids, name="id"))
        prediction.to_parquet(prediction_path)

    return {"train": train, "infer": infer}


def _read_train(data_directory_path: str):
    x_train = pandas.read_parquet(os.path.join(data_directory_path, "X_train.parquet"))
    y_train = pandas.read_parquet(os.path.join(data_directory_path, "y_train.parquet"))[TARGET_COLUMN]
    return x_train, y_train


def _split_datasets(x_test: pandas.DataFrame):
    datasets, ids = [], []
    for dataset_id, dataset in x_test.groupby(level="id", sort=True):
        dataset.name = dataset_id
        datasets.append(dataset)
        ids.append(dataset_id)
    return datasets, ids


def _as_probability(value: typing.Any) -> float:
    if isinstance(value, (pandas.Series, numpy.ndarray, list)):
        if len(value) != 1:
            raise ValueError(f"yield one value per dataset, not {len(value)}")
        value = list(value)[0]
    if not isinstance(value, (bool, int, float, numpy.bool_, numpy.integer, numpy.floating)):
        raise ValueError(f"yield a number (the probability of a break), not {type(value).__name__}")
    return float(value)
