"""Scoring of the `demo-unstructured` competition: ROC AUC of the break probabilities."""

import os
import typing

import numpy
import pandas

import crunch
import crunch.unstructured
import crunch.utils


class ParticipantVisibleError(Exception):
    """A message for the participant."""


tracer = crunch.utils.Tracer()


def check(prediction_directory_path: str, data_directory_path: str):
    prediction = _read_prediction(prediction_directory_path)
    with tracer.log("Check the columns"):
        difference = crunch.unstructured.utils.delta_message({"prediction"}, set(prediction.columns))
        if difference:
            raise ParticipantVisibleError(f"Columns do not match: {difference}")
    with tracer.log("Check the values"):
        if not numpy.issubdtype(prediction["prediction"].dtype, numpy.floating):
            raise ParticipantVisibleError("Column `prediction` must hold floats")
        if not numpy.isfinite(prediction["prediction"].to_numpy()).all():
            raise ParticipantVisibleError("Column `prediction` must not hold NaN or infinite values")
    truth = _read_truth(data_directory_path)
    with tracer.log("Check the ids"):
        difference = crunch.unstructured.utils.delta_message(set(truth.index), set(prediction.index))
        if difference:
            raise ParticipantVisibleError(f"IDs do not match: {difference}")
        if len(prediction.index) != len(truth.index):
            raise ParticipantVisibleError("Duplicate IDs found")


def score(
    prediction_directory_path: str,
    data_directory_path: str,
    target_and_metrics: typing.List[typing.Tuple[crunch.api.Target, typing.List[crunch.api.Metric]]],
):
    metric = target_and_metrics[0][1][0]
    assert metric.name == "roc-auc", "missing roc-auc metric"
    prediction = _read_prediction(prediction_directory_path)
    truth = _read_truth(data_directory_path)
    with tracer.log("Compute the ROC AUC"):
        value = roc_auc(truth.to_numpy(dtype=bool), prediction["prediction"].reindex(truth.index).to_numpy(dtype=float))
    return {metric.id: crunch.unstructured.ScoredMetric(value, [])}


def roc_auc(truth: numpy.ndarray, scores: numpy.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        raise ParticipantVisibleError("the truth holds one class only: the ROC AUC is undefined")
    ranks = pandas.Series(scores).rank(method="average").to_numpy()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _read_prediction(prediction_directory_path: str) -> pandas.DataFrame:
    path = os.path.join(prediction_directory_path, "prediction.parquet")
    if not os.path.exists(path):
        raise ParticipantVisibleError("Missing `prediction.parquet` file")
    with tracer.log("Load the prediction"):
        return pandas.read_parquet(path)


def _read_truth(data_directory_path: str) -> pandas.Series:
    with tracer.log("Load y_test"):
        return pandas.read_parquet(os.path.join(data_directory_path, "y_test.parquet"))["structural_breakpoint"]
