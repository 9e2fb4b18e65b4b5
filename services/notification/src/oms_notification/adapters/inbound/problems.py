"""The one map from the application's exceptions to the problem+json answers (handed to the app factory).

The delivery log's only route raises nothing of its own (bad parameters are 422 already); an
exception a new route lets propagate gets its entry here.
"""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

PROBLEMS: dict[type[Exception], ProblemSpec] = {}
