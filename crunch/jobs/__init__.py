"""Runs of a submission in a clean environment, apart from the HTTP app: the hub's cloud runs
(:mod:`crunch.hub.runs` queues them) and ``crunch test --isolated`` share this code.

- :mod:`.environment`: a fresh virtual environment per set of pinned requirements, cached by
  their hash and the Python version (``uv`` when installed, ``venv`` + ``pip`` otherwise);
- :mod:`.sandbox`: the run's folder, holding the submission's code and model files, and the
  competition's metadata and data beside it;
- :mod:`.process`: the runner in a separate process, its lines captured with timestamps, a
  time limit after which its whole process group is killed;
- :mod:`.child`: what that process runs (the competition's runner family, an audit hook that
  names a file opened outside the run's folder, a missing module named with the line to add);
- :mod:`.job`: the three together.
"""
