"""The sweep runner: jobs side by side, started only when they can finish before the deadline.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s packages/training/tests
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fvtrain import sweep  # noqa: E402
from test_smoke import write_fake_crops  # noqa: E402

SMALL = "--threads 1 --batch-people 4 --per-person 2 --singles 2 --val-fraction 0.25 --widths 4,8 --seed 1"


class SweepTest(unittest.TestCase):
    def write(self, tmp: str, lines: list[str]) -> str:
        path = os.path.join(tmp, "jobs.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return path

    def test_runs_what_fits_and_skips_what_cannot_finish(self):
        with tempfile.TemporaryDirectory() as tmp:
            crops = os.path.join(tmp, "crops")
            os.makedirs(crops)
            write_fake_crops(crops)
            jobs = self.write(tmp, [
                "# priority order",
                f"a\t--crops {crops} --epochs 3 {SMALL}",
                f"huge\t--crops {crops} --epochs 100000 {SMALL}",
                "",
                f"b\t--crops {crops} --epochs 2 {SMALL}",
            ])
            out = os.path.join(tmp, "runs")
            rc = sweep.main(["--jobs", jobs, "--out", out, "--parallel", "1", "--deadline", "300"])
            self.assertEqual(rc, 0)
            with open(os.path.join(out, "sweep.json"), encoding="utf-8") as fh:
                states = {j["name"]: (j["state"], j["epochs_done"]) for j in json.load(fh)}
            self.assertEqual(states, {"a": ("done", 3), "huge": ("skipped", 0), "b": ("done", 2)})
            for name in ("a", "b"):
                self.assertTrue(os.path.isfile(os.path.join(out, name, "model.onnx")))
            self.assertFalse(os.path.exists(os.path.join(out, "huge")))

    def test_a_prior_rate_keeps_even_the_first_jobs_from_overrunning(self):
        with tempfile.TemporaryDirectory() as tmp:
            crops = os.path.join(tmp, "crops")
            os.makedirs(crops)
            write_fake_crops(crops)
            jobs = self.write(tmp, [f"huge\t--crops {crops} --epochs 100000 {SMALL}",
                                    f"small\t--crops {crops} --epochs 1 {SMALL}"])
            out = os.path.join(tmp, "runs")
            rc = sweep.main(["--jobs", jobs, "--out", out, "--parallel", "2", "--deadline", "120",
                             "--epoch-seconds", "0.5", "--startup-seconds", "5"])
            self.assertEqual(rc, 0)
            with open(os.path.join(out, "sweep.json"), encoding="utf-8") as fh:
                self.assertEqual([j["state"] for j in json.load(fh)], ["skipped", "done"])

    def test_stops_a_job_at_the_deadline(self):
        with tempfile.TemporaryDirectory() as tmp:
            crops = os.path.join(tmp, "crops")
            os.makedirs(crops)
            write_fake_crops(crops)
            jobs = self.write(tmp, [f"long\t--crops {crops} --epochs 100000 {SMALL}"])
            out = os.path.join(tmp, "runs")
            rc = sweep.main(["--jobs", jobs, "--out", out, "--parallel", "2", "--deadline", "4"])
            self.assertEqual(rc, 0)
            with open(os.path.join(out, "sweep.json"), encoding="utf-8") as fh:
                (job,) = json.load(fh)
            self.assertEqual(job["state"], "unfinished")
            self.assertFalse(os.path.exists(os.path.join(out, "long", "model.onnx")))

    def test_refuses_a_malformed_jobs_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            for lines, message in ((["no tab here"], ":1: expected"),
                                   (["a\t--epochs 1", "a\t--epochs 2"], "listed twice"),
                                   (["a\t--epochs x"], "whole number"),
                                   (["a\t--out somewhere"], "give no --out"),
                                   (["# only a comment"], "lists no jobs")):
                with self.assertRaises(ValueError) as caught:
                    sweep.parse_jobs(self.write(tmp, lines))
                self.assertIn(message, str(caught.exception))
            self.assertEqual(sweep.main(["--jobs", os.path.join(tmp, "missing.txt"), "--out", tmp,
                                         "--deadline", "10"]), 2)


if __name__ == "__main__":
    unittest.main()
