"""Everything about a run, in one package.

- :mod:`.directory`: :class:`RunDir`, the only owner of run-file names, atomic writes and reads, and
  saved components;
- :mod:`.context`: what components see of a run (log, progress, checkpoints) and the manifest record;
- :mod:`.runner`: executes a plan, one method per recipe section, data passed in memory; the work
  of each section in :mod:`.data_section`, :mod:`.predictor_section`, :mod:`.generator_section`,
  :mod:`.screening` (with :mod:`.training` for a predictor's hold-out, calibration and fit);
- :mod:`.tables`: the candidate and training tables passed between sections;
- :mod:`.predict`: predictors saved in a run, and predictions for user materials;
- :mod:`.evaluate` and :mod:`.generation_metrics`: the generator papers' metrics;
- :mod:`.report`: the self-contained HTML report;
- :mod:`.api`: :func:`run_recipe`, :func:`open_run` and :class:`Run`, the Python entry points
  (exported by :mod:`sc_toolkit`).

This module imports nothing heavy itself, so that :mod:`sc_toolkit.plan` can read saved runs
through :mod:`.directory` without loading the runner.
"""

from .directory import RunDir

__all__ = ["RunDir"]
