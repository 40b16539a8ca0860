"""Progress as text: throttled lines with the count, the latest values and the time left, written to
run.log so that a run whose output is not a terminal shows how far its training is."""

import io

from rich.console import Console

from sc_toolkit.run import context
from sc_toolkit.run.context import RunContext
from sc_toolkit.run.directory import LOG, RunDir
from sc_toolkit.runtime import ProgressLines


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_are_throttled_and_the_last_step_is_always_written():
    clock, written = Clock(), []
    lines = ProgressLines(written.append, "training wgan-gp", total=60, every=5.0, clock=clock)
    for epoch in range(60):
        clock.now += 0.5  # an epoch every half second: one line per 10 epochs, and the last
        lines.advance(loss_critic=-1.25, loss_generator=0.5)
    assert len(written) == 6
    assert written[0] == ("training wgan-gp 10/60  loss_critic=-1.25  loss_generator=0.5  elapsed 5 s, "
                          "about 25 s left")
    assert written[-1].startswith("training wgan-gp 60/60  ") and written[-1].endswith("elapsed 30 s")


def test_long_runs_read_in_minutes_and_hours_and_a_task_without_total_has_no_estimate():
    clock, written = Clock(), []
    lines = ProgressLines(written.append, "training", total=500, every=5.0, clock=clock)
    clock.now += 125
    lines.advance(5)
    assert written == ["training 5/500  elapsed 2 min 05 s, about 3 h 26 min left"]
    open_ended = ProgressLines(written.append, "sampling", total=None, every=5.0, clock=clock)
    clock.now += 6
    open_ended.advance(3, loss=2.0)
    assert written[-1] == "sampling 3  loss=2  elapsed 6 s"


def test_a_run_without_a_terminal_logs_its_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(context, "PROGRESS_LOG_SECONDS", 0.0)
    output = io.StringIO()
    run = RunContext(RunDir(tmp_path), seed=0, quick=True, console=Console(file=output, force_terminal=False))
    try:
        with run.progress("training wgan-gp", total=3) as bar:
            for epoch in range(3):
                bar.advance(loss_critic=-float(epoch), loss_generator=1.0)
    finally:
        run.close()
    logged = [line.split(" ", 1)[1] for line in (tmp_path / LOG).read_text().splitlines()]
    assert [line.split("  ")[0] for line in logged] == [f"training wgan-gp {i}/3" for i in (1, 2, 3)]
    assert "loss_critic=-2  loss_generator=1  elapsed" in logged[-1]
    assert "left" in logged[0] and run.history["training wgan-gp"][-1] == {"loss_critic": -2.0, "loss_generator": 1.0}
