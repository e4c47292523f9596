"""The local runner: call a person's ``train()``/``infer()`` as the platform's runner does.

Two families, chosen from the competition's format in :mod:`.family`: the classic loop
(TIMESERIES, REGULAR) and the competition's own code (UNSTRUCTURED). What both need is
:mod:`.session` (the participant's module, the model directory, time and memory).

- :mod:`.loader`  imports ``main.py`` and keeps only the person's own frames in tracebacks
- :mod:`.params`  binds the runner's values to the functions' parameters by name
- :mod:`.data`    reads the data files once, sorted by moon, and hands out slices
- :mod:`.loop`    the timeseries loop and the single train/infer of other formats
- :mod:`.checks`  the prediction checks, keyed by the hub's function names
- :mod:`.report`  the summary printed at the end
- :mod:`.local`   ties them to a workspace (used by ``crunch test`` and the notebook tools)
- :mod:`.competition`, :mod:`.competition_test`, :mod:`.local_score`  the UNSTRUCTURED family:
  the competition's runner.py with the local contexts of :mod:`.unstructured`, spans of
  :mod:`.tracing`, then its scoring.py on a view of the data

Heavy libraries (pandas, pyarrow) are imported inside the functions that use them.
"""
