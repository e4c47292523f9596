"""A ridge regression for the `demo` competition of the local hub.

train() fits the weights on the features and saves them in the model directory;
infer() loads them and predicts one value per row of the current moon.
"""

import os

import numpy as np
import pandas as pd

ALPHA = 1.0
MODEL_FILE = "ridge.npz"


def _features(frame: pd.DataFrame, id_column_name: str, moon_column_name: str) -> pd.DataFrame:
    return frame.drop(columns=[id_column_name, moon_column_name], errors="ignore")


def train(
    X_train: pd.DataFrame,
    y_train: pd.DataFrame,
    model_directory_path: str,
    id_column_name: str,
    moon_column_name: str,
    target_column_name: str,
) -> None:
    features = _features(X_train, id_column_name, moon_column_name)
    x = features.to_numpy(dtype=np.float64)
    y = y_train[target_column_name].to_numpy(dtype=np.float64)
    # closed-form ridge: (X'X + alpha I) w = X'y, with an unpenalised intercept
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc = x - x_mean
    weights = np.linalg.solve(xc.T @ xc + ALPHA * np.eye(xc.shape[1]), xc.T @ (y - y_mean))
    intercept = y_mean - x_mean @ weights
    os.makedirs(model_directory_path, exist_ok=True)
    np.savez(
        os.path.join(model_directory_path, MODEL_FILE),
        weights=weights,
        intercept=intercept,
        columns=np.array(features.columns, dtype=str),
    )


def infer(
    X_test: pd.DataFrame,
    model_directory_path: str,
    id_column_name: str,
    moon_column_name: str,
    prediction_column_name: str,
) -> pd.DataFrame:
    model = np.load(os.path.join(model_directory_path, MODEL_FILE))
    features = X_test[list(model["columns"])].to_numpy(dtype=np.float64)
    prediction = features @ model["weights"] + model["intercept"]
    return pd.DataFrame(
        {
            id_column_name: X_test[id_column_name],
            moon_column_name: X_test[moon_column_name],
            prediction_column_name: prediction,
        }
    )
