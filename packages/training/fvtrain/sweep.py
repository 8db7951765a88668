"""Run many training jobs side by side before a deadline:
`python -m fvtrain.sweep --jobs FILE --out DIR --parallel K --deadline SECONDS`.

The jobs file holds one job per line, `name<TAB>arguments`, in priority order; blank lines and
lines starting with # are skipped. Each job runs `python -m fvtrain <arguments> --out DIR/name`
with its output in DIR/name.log. Up to K jobs run at once. A job starts only if it can still
finish before the deadline: its --epochs times the seconds per epoch the running and finished
jobs show now (they share the machine, so that rate already holds the contention), plus the
slowest start-up seen so far. Jobs still running at the deadline are stopped and reported as
unfinished, so whatever finished is kept in one piece. DIR/sweep.json records every job."""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .cli import DEFAULT_EPOCHS

EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+).*?([\d.]+)s \(total [\d.]+ min\)", re.M)
NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class Job:
    name: str
    args: list[str]
    epochs: int
    state: str = "waiting"  # waiting, running, done, failed, unfinished, skipped
    started: float | None = None
    first_epoch: float | None = None  # when its log first showed a finished epoch
    ended: float | None = None
    returncode: int | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def log_path(self, out: str) -> str:
        return os.path.join(out, f"{self.name}.log")


def parse_jobs(path: str) -> list[Job]:
    """The jobs of a jobs file, or ValueError naming the line that is wrong."""
    jobs: list[Job] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, rest = line.partition("\t")
            if not sep or not NAME.match(name):
                raise ValueError(f"{path}:{number}: expected 'name<TAB>arguments' with a name of letters, digits, . _ -")
            if name in seen:
                raise ValueError(f"{path}:{number}: job {name} is listed twice")
            args = shlex.split(rest)
            if "--out" in args:
                raise ValueError(f"{path}:{number}: give no --out; the sweep puts each job in its own folder")
            epochs = DEFAULT_EPOCHS
            if "--epochs" in args:
                try:
                    epochs = int(args[args.index("--epochs") + 1])
                except (IndexError, ValueError):
                    raise ValueError(f"{path}:{number}: --epochs needs a whole number") from None
            seen.add(name)
            jobs.append(Job(name, args, epochs))
    if not jobs:
        raise ValueError(f"{path} lists no jobs")
    return jobs


def progress(log_path: str) -> tuple[int, float | None]:
    """(epochs done, seconds of the latest epoch or None) read from a job's log."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return 0, None
    found = EPOCH_LINE.findall(text)
    if not found:
        return 0, None
    return int(found[-1][0]), float(found[-1][2])


def run(jobs: list[Job], out: str, parallel: int, deadline: float, python: str, log=print,
        poll: float = 2.0, grace: float = 10.0, epoch_seconds: float | None = None,
        startup_seconds: float = 30.0) -> list[Job]:
    """`epoch_seconds`: the seconds per epoch to expect (at `parallel` jobs side by side) until the
    jobs show their own, so that even the first jobs start only if they can finish."""
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")

    def pace() -> tuple[float, float] | None:
        """(seconds per epoch, seconds of start-up beside them) a job started now can expect, or
        None before any job has shown its pace. Read once per look: starting a job changes neither."""
        # The running jobs' latest epochs hold today's contention; finished jobs' wall clock per
        # epoch (start-up included, so on the safe side) is the fallback, also for jobs so short
        # that they ended between two looks.
        running = [r for j in jobs if j.state == "running" for r in [progress(j.log_path(out))[1]] if r]
        startups = [j.first_epoch - j.started for j in jobs if j.first_epoch is not None]
        if running and startups:
            return statistics.median(running), max(startups) + 30
        finished = [(j.ended - j.started) / j.epochs for j in jobs if j.state == "done"]
        if finished:
            return statistics.median(finished), 30
        if epoch_seconds is not None:
            return epoch_seconds, startup_seconds
        return None

    def stop(job: Job, state: str) -> None:
        if job.proc and job.proc.poll() is None:
            job.proc.send_signal(signal.SIGTERM)
            try:
                job.proc.wait(grace)
            except subprocess.TimeoutExpired:
                job.proc.kill()
                job.proc.wait()
        job.state, job.ended = state, time.monotonic() - started

    try:
        while True:
            now = time.monotonic() - started
            for j in jobs:
                if j.state == "running" and j.first_epoch is None and progress(j.log_path(out))[0] > 0:
                    j.first_epoch = now
                if j.state == "running" and j.proc.poll() is not None:
                    j.returncode, j.ended = j.proc.returncode, now
                    j.state = "done" if j.returncode == 0 else "failed"
                    log(f"[{now:6.0f}s] {j.name}: {j.state} (exit {j.returncode}) after {j.ended - j.started:.0f}s")
            if now >= deadline:
                for j in jobs:
                    if j.state == "running":
                        stop(j, "unfinished")
                        log(f"[{now:6.0f}s] {j.name}: stopped at the deadline")
                break
            running = sum(j.state == "running" for j in jobs)
            expected = pace() if running < parallel else None
            for j in jobs:
                if j.state != "waiting" or running >= parallel:
                    continue
                need = j.epochs * expected[0] + expected[1] if expected is not None else None
                if need is not None and now + need > deadline:
                    continue  # a smaller job further down may still fit
                os.makedirs(out, exist_ok=True)
                with open(j.log_path(out), "w", encoding="utf-8") as fh:
                    j.proc = subprocess.Popen([python, "-m", "fvtrain", *j.args, "--out", os.path.join(out, j.name)],
                                              stdout=fh, stderr=subprocess.STDOUT, env=env)
                j.state, j.started = "running", now
                running += 1
                log(f"[{now:6.0f}s] {j.name}: started" + (f" (needs ~{need:.0f}s)" if need is not None else ""))
            if running == 0:
                break
            time.sleep(poll)
    finally:
        for j in jobs:
            if j.state == "running":
                stop(j, "unfinished")
    for j in jobs:
        if j.state == "waiting":
            j.state = "skipped"
    return jobs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fvtrain.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", required=True, help="jobs file: name<TAB>fvtrain arguments, one per line")
    p.add_argument("--out", required=True, help="folder for each job's model folder and log")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--deadline", type=float, required=True, help="seconds from now by which every job is over")
    p.add_argument("--epoch-seconds", type=float, default=None,
                   help="seconds per epoch to expect until the jobs show their own (default: start the first "
                        "jobs unconditionally)")
    p.add_argument("--startup-seconds", type=float, default=30.0,
                   help="seconds to expect before a job's first epoch, with --epoch-seconds")
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args(argv)
    if args.parallel < 1 or args.deadline <= 0:
        print("--parallel must be at least 1 and --deadline positive", file=sys.stderr)
        return 2
    try:
        jobs = parse_jobs(args.jobs)
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    run(jobs, args.out, args.parallel, args.deadline, args.python, log, epoch_seconds=args.epoch_seconds,
        startup_seconds=args.startup_seconds)
    summary = [{"name": j.name, "state": j.state, "returncode": j.returncode, "epochs": j.epochs,
                "epochs_done": progress(j.log_path(args.out))[0] if j.started is not None else 0,
                "started_s": j.started, "ended_s": j.ended, "args": j.args} for j in jobs]
    with open(os.path.join(args.out, "sweep.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    counts = {s: sum(j.state == s for j in jobs) for s in ("done", "failed", "unfinished", "skipped")}
    log("sweep: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
