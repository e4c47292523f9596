"""Quickstarter of the `demo` competition: a least-squares linear model on the features.

The runner calls train() then infer() for every test moon, with the parameters below.
"""

import os

import numpy as np
import pandas as pd


def _features(frame: pd.DataFrame) -> list:
    return [column for column in frame.columns if column.startswith("feature_")]


def train(X_train: pd.DataFrame, y_train: pd.DataFrame, model_directory_path: str) -> None:
    data = X_train.merge(y_train, on=["id", "moon"])
    features = _features(X_train)
    x = np.column_stack([data[features].to_numpy(dtype=float), np.ones(len(data))])
    coefficients, *_ = np.linalg.lstsq(x, data["target"].to_numpy(dtype=float), rcond=None)
    os.makedirs(model_directory_path, exist_ok=True)
    np.save(os.path.join(model_directory_path, "model.npy"), coefficients)


def infer(X_test: pd.DataFrame, model_directory_path: str) -> pd.DataFrame:
    coefficients = np.load(os.path.join(model_directory_path, "model.npy"))
    features = _features(X_test)
    x = np.column_stack([X_test[features].to_numpy(dtype=float), np.ones(len(X_test))])
    prediction = X_test[["id", "moon"]].copy()
    prediction["prediction"] = np.clip(x @ coefficients, -1.0, 1.0)
    return prediction
