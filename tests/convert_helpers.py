"""Small builders shared by the converter tests."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union

Cell = Union[str, Dict[str, Any]]


def code(source: Union[str, List[str]], cell_id: str = "") -> Dict[str, Any]:
    cell: Dict[str, Any] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    if cell_id:
        cell["metadata"]["id"] = cell_id
    return cell


def markdown(source: Union[str, List[str]]) -> Dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def notebook(*cells: Cell) -> Dict[str, Any]:
    return {
        "cells": [code(cell, f"c{index}") if isinstance(cell, str) else cell for index, cell in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(*cells: Cell) -> str:
    return json.dumps(notebook(*cells))
