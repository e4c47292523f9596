"""Submission check of the `demo-unstructured` competition."""

from typing import List

from crunch.external import humanfriendly
from crunch.unstructured import File
from crunch.unstructured.utils import find_file_by_path
from crunch.utils import Tracer


class ParticipantVisibleError(Exception):
    """A message for the participant."""


tracer = Tracer()

MAX_MODEL_SIZE = 100 * 1000 * 1000


def check(submission_files: List[File], model_files: List[File]):
    with tracer.log("Find main.py"):
        if find_file_by_path(submission_files, "main.py") is None:
            raise ParticipantVisibleError("Missing `main.py` file: the submission runs your main.py.")
    with tracer.log("Check the size of the model"):
        size = sum(file.size for file in model_files)
        if size > MAX_MODEL_SIZE:
            raise ParticipantVisibleError(
                f"The model files are too big: {humanfriendly.format_size(size)}, at most {humanfriendly.format_size(MAX_MODEL_SIZE)}."
            )
