"""Importing sc_toolkit makes idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE) unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = (
    "import os, sys, sc_toolkit; "
    "print(os.environ.get('OMP_WAIT_POLICY'), [m for m in ('lightgbm', 'torch', 'xgboost') if m in sys.modules])"
)


def _import_sc_toolkit(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    done = subprocess.run([sys.executable, "-c", CHECK], env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_import_sets_passive_before_any_openmp_library_loads():
    # The OpenMP runtime reads the variable when the first library using it loads: none may be loaded yet.
    assert _import_sc_toolkit() == "PASSIVE []"


def test_a_value_the_user_set_wins():
    assert _import_sc_toolkit(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE []"
