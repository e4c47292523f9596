"""The package version: ``API_LEVEL.REVISION``.

``API_LEVEL`` (MAJOR.MINOR) is the public crunch-cli release whose competition-code API and hub
protocol this package implements (checked against crunch-cli 13.0.1); ``REVISION`` counts our own
releases at that level. Competition runners gate on this number (structural-break-real-time aborts
unless ``__version__ >= "11.7.0"``, compared as strings), so it states the API level, no more, no less.
"""

__version__ = "13.0.0"

#: The crunch-cli release level whose competition-code API this package implements.
API_LEVEL = "13.0"
