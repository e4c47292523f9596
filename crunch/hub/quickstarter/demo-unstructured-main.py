"""Quickstarter of the `demo-unstructured` competition: is there a structural break in each series?

The score of a series is how far apart the means of its two periods are, in standard deviations;
training learns where that score separates the series with a break from the others.
"""

import json
import math
import os
import typing

import numpy as np
import pandas as pd


def _gap(dataset: pd.DataFrame) -> float:
    before = dataset.loc[dataset["period"] == 0, "value"].to_numpy(dtype=float)
    after = dataset.loc[dataset["period"] == 1, "value"].to_numpy(dtype=float)
    if len(before) < 2 or len(after) < 2:
        return 0.0
    spread = math.sqrt((before.var() + after.var()) / 2) or 1.0
    return abs(after.mean() - before.mean()) / spread


def train(X_train: pd.DataFrame, y_train: pd.Series, model_directory_path: str) -> None:
    gaps = X_train.groupby(level="id").apply(_gap)
    labels = y_train.reindex(gaps.index).astype(bool)
    center = (gaps[labels].median() + gaps[~labels].median()) / 2
    scale = max(float(gaps.std()), 1e-6)
    os.makedirs(model_directory_path, exist_ok=True)
    with open(os.path.join(model_directory_path, "model.json"), "w") as file:
        json.dump({"center": float(center), "scale": scale}, file)


def infer(X_test: typing.Iterable[pd.DataFrame], model_directory_path: str):
    with open(os.path.join(model_directory_path, "model.json")) as file:
        model = json.load(file)
    yield  # ready: the datasets come one at a time from here
    for dataset in X_test:
        yield 1.0 / (1.0 + np.exp(-(_gap(dataset) - model["center"]) / model["scale"]))
