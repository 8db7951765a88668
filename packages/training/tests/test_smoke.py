"""Smoke test: one short epoch on a synthetic crop directory, then a valid ONNX export.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s packages/training/tests
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from fvtrain.cli import main  # noqa: E402
from fvtrain.data import load_crops, make_split, parse_pairs_images, parse_pairs_people  # noqa: E402
from fvtrain.metrics import best_threshold_accuracy, roc_auc  # noqa: E402


def write_fake_crops(directory: str, people: int = 12, per_person: int = 5, singles: int = 6) -> list[str]:
    rng = np.random.RandomState(0)
    rows, images = [], []
    names = [f"Person_{i:02d}" for i in range(people)] + [f"Single_{i:02d}" for i in range(singles)]
    for p, name in enumerate(names):
        base = rng.randint(0, 256, (62, 47))
        for k in range(per_person if p < people else 1):
            noisy = np.clip(base + rng.randint(-30, 31, base.shape), 0, 255)
            images.append(noisy.astype(np.uint8))
            rows.append((name, k + 1))
    np.stack(images).tofile(os.path.join(directory, "crops.u8"))
    with open(os.path.join(directory, "index.tsv"), "w", encoding="utf-8") as fh:
        fh.write("index\tname\timage\tdetected\tfaces\n")
        for i, (name, num) in enumerate(rows):
            fh.write(f"{i}\t{name}\t{num}\t1\t1\n")
    with open(os.path.join(directory, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump({"height": 62, "width": 47, "count": len(rows)}, fh)
    return names


def write_fake_teacher(directory: str, crops_dir: str, dim: int = 16) -> None:
    """A teacher cache in packages/teacher's format: one direction per person plus noise; the
    last crop has no teacher row (the loader must mask it)."""
    rng = np.random.RandomState(1)
    with open(os.path.join(crops_dir, "index.tsv"), encoding="utf-8") as fh:
        rows = [ln.rstrip("\n").split("\t") for ln in fh.readlines()[1:]][:-1]
    centres: dict[str, np.ndarray] = {}
    values = []
    for cols in rows:
        centre = centres.setdefault(cols[1], rng.randn(dim))
        values.append(centre + 0.1 * rng.randn(dim))
    np.asarray(values, dtype="<f4").tofile(os.path.join(directory, "embeddings.f32"))
    with open(os.path.join(directory, "index.tsv"), "w", encoding="utf-8") as fh:
        fh.write("index\tname\timage\tdetected\tfaces\n")
        for i, cols in enumerate(rows):
            fh.write(f"{i}\t{cols[1]}\t{cols[2]}\t1\t1\n")
    with open(os.path.join(directory, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump({"dim": dim, "count": len(rows)}, fh)


def write_fake_teacher_run(tmp: str) -> tuple[str, str, str]:
    """Fake crops and their teacher cache under `tmp`; returns (crops, teacher, model output) dirs."""
    crops_dir, teacher_dir = os.path.join(tmp, "crops"), os.path.join(tmp, "teacher")
    os.makedirs(crops_dir)
    os.makedirs(teacher_dir)
    write_fake_crops(crops_dir)
    write_fake_teacher(teacher_dir, crops_dir)
    return crops_dir, teacher_dir, os.path.join(tmp, "model")


class SmokeTest(unittest.TestCase):
    def test_distillation(self):
        from fvtrain.data import load_teacher

        with tempfile.TemporaryDirectory() as tmp:
            crops_dir, teacher_dir, out_dir = write_fake_teacher_run(tmp)
            crops = load_crops(crops_dir)
            target, mask, _ = load_teacher([teacher_dir], crops)
            self.assertEqual(int(mask.sum()), len(crops) - 1)
            self.assertFalse(mask[-1])
            np.testing.assert_allclose(np.linalg.norm(target[mask], axis=1), 1, atol=1e-5)

            rc = main(["--crops", crops_dir, "--out", out_dir, "--teacher", teacher_dir,
                       "--distill-relational", "1", "--distill-direct", "0.5", "--embedding-dim", "32", "--ema", "0.9",
                       "--epochs", "1", "--batch-people", "4", "--per-person", "2", "--singles", "2",
                       "--val-fraction", "0.2", "--threads", "2"])
            self.assertEqual(rc, 0)
            with open(os.path.join(out_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertGreater(report["history"][0]["distill_relational"], 0)
            self.assertGreater(report["history"][0]["distill_direct"], 0)
            self.assertEqual(report["teacher"]["train_rows_with_teacher"], report["train"]["images"] - 1)
            self.assertEqual(report["hyperparameters"]["ema"], 0.9)
            from fvtrain.export import run_reference

            emb = run_reference(os.path.join(out_dir, "model.onnx"),
                                np.random.RandomState(1).rand(2, 1, 62, 47).astype(np.float32))
            self.assertEqual(emb.shape, (2, 32))

    def test_pca_distillation_basis(self):
        from fvtrain.train import teacher_basis

        # Embeddings that live in a planted 3-d subspace of 10-d: the basis spans exactly it.
        rng = np.random.RandomState(2)
        planted = np.linalg.qr(rng.randn(10, 3))[0].T
        targets = rng.randn(200, 3) @ planted
        targets /= np.linalg.norm(targets, axis=1, keepdims=True)
        basis = teacher_basis(targets, 3)
        np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(planted @ basis.T, axis=1), 1, atol=1e-5)
        with self.assertRaises(ValueError):
            teacher_basis(targets, 11)

        with tempfile.TemporaryDirectory() as tmp:
            crops_dir, teacher_dir, out_dir = write_fake_teacher_run(tmp)
            args = ["--crops", crops_dir, "--out", out_dir, "--teacher", teacher_dir, "--distill-direct", "1",
                    "--distill-basis", "pca", "--epochs", "1", "--batch-people", "4", "--per-person", "2",
                    "--singles", "2", "--val-fraction", "0.2", "--threads", "2"]
            self.assertEqual(main(args + ["--embedding-dim", "8"]), 0)
            with open(os.path.join(out_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertEqual(report["hyperparameters"]["distill_basis"], "pca")
            self.assertGreater(report["history"][0]["distill_direct"], 0)
            # A student wider than the teacher has no basis of its size: refused, not padded.
            with self.assertRaises(ValueError):
                main(args + ["--embedding-dim", "32"])

    def test_proxy_distillation(self):
        from fvtrain.data import Split
        from fvtrain.losses import proxy_distillation_loss
        from fvtrain.train import person_proxies

        # Centroids: the mean of each person's normalised rows, normalised; rows without a target
        # are skipped and a person with none gets no centroid.
        targets = np.array([[2, 0], [0, 3], [1, 1], [5, 0], [0, 1]], dtype=np.float32)
        has = np.array([True, True, False, True, False])
        split = Split(train_people=[[0, 1], [2, 3]], train_people_names=["A", "B"],
                      single_indices=np.array([4]), val_people=[], val_people_names=[], excluded_people_in_crops=0)
        proxies = person_proxies(split, targets, has)
        np.testing.assert_allclose(proxies, [[2 ** -0.5, 2 ** -0.5], [1, 0]], atol=1e-6)
        with self.assertRaises(ValueError):
            person_proxies(split, targets, np.array([True, False, False, False, False]))

        # Zero when the student's projection points where the teacher does, positive and with a
        # gradient otherwise; masked rows do not count.
        rng = np.random.RandomState(3)
        cents = torch.nn.functional.normalize(torch.from_numpy(rng.randn(20, 8).astype(np.float32)), dim=1)
        teacher = torch.nn.functional.normalize(torch.from_numpy(rng.randn(6, 8).astype(np.float32)), dim=1)
        mask = torch.tensor([True, True, True, True, False, False])
        self.assertAlmostEqual(float(proxy_distillation_loss(teacher * 3, teacher, cents, 16.0, mask)), 0, places=5)
        student = torch.from_numpy(rng.randn(6, 8).astype(np.float32)).requires_grad_(True)
        loss = proxy_distillation_loss(student, teacher, cents, 16.0, mask)
        self.assertGreater(float(loss), 0.01)
        loss.backward()
        self.assertGreater(float(student.grad[:4].abs().sum()), 0)
        self.assertEqual(float(student.grad[4:].abs().sum()), 0)
        self.assertEqual(float(proxy_distillation_loss(student, teacher, cents, 16.0, torch.zeros(6, dtype=torch.bool))), 0)

        with tempfile.TemporaryDirectory() as tmp:
            crops_dir, teacher_dir, out_dir = write_fake_teacher_run(tmp)
            args = ["--crops", crops_dir, "--out", out_dir, "--teacher", teacher_dir, "--distill-proxies", "2",
                    "--proxy-scale", "16", "--epochs", "1", "--batch-people", "4", "--per-person", "2",
                    "--singles", "2", "--val-fraction", "0.2", "--threads", "2"]
            self.assertEqual(main(args), 0)
            with open(os.path.join(out_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertEqual(report["hyperparameters"]["distill_proxies"], 2)
            self.assertGreater(report["history"][0]["distill_proxies"], 0)
            self.assertIn("teacher centroid", report["loss"])
            with self.assertRaises(SystemExit):
                main(["--crops", crops_dir, "--out", out_dir, "--distill-proxies", "1", "--epochs", "1"])
            with self.assertRaises(SystemExit):
                main(args + ["--proxy-scale", "0"])

    def test_train_and_export(self):
        import onnx

        from fvtrain.export import run_reference

        with tempfile.TemporaryDirectory() as tmp:
            crops_dir = os.path.join(tmp, "crops")
            out_dir = os.path.join(tmp, "model")
            os.makedirs(crops_dir)
            write_fake_crops(crops_dir)
            pairs = os.path.join(tmp, "pairs.txt")
            with open(pairs, "w", encoding="utf-8") as fh:  # 10-fold file, 1 matched + 1 mismatched per fold
                fh.write("10\t1\n")
                for f in range(10):
                    fh.write(f"Person_{f:02d}\t1\t2\n")
                    fh.write(f"Person_{f:02d}\t1\tSingle_{f % 6:02d}\t1\n")
            # fold 0 names Person_00 and Single_00 only
            self.assertEqual(parse_pairs_people(pairs, 0), {"Person_00", "Single_00"})
            crops = load_crops(crops_dir)
            split = make_split(crops, {"Person_00", "Single_00"}, 0.2, 0)
            used = {crops.names[i] for i in np.concatenate([split.train_indices(), split.val_indices()])}
            self.assertNotIn("Person_00", used)
            self.assertNotIn("Single_00", used)
            # Held-out images (e.g. a threshold set's) leave training; their people's other images stay.
            self.assertLessEqual({("Person_01", 1), ("Person_01", 2), ("Single_01", 1)}, parse_pairs_images(pairs))
            held = frozenset(parse_pairs_images(pairs))
            split = make_split(crops, set(), 0.2, 0, held)
            used = {(crops.names[i], crops.image_numbers[i])
                    for i in np.concatenate([split.train_indices(), split.val_indices()])}
            self.assertFalse(used & held)
            self.assertIn(("Person_01", 3), used)
            self.assertNotIn("Single_01", {name for name, _ in used})  # its only image was held out

            t0 = time.time()
            rc = main(["--crops", crops_dir, "--exclude-pairs", pairs, "--exclude-fold", "0", "--out", out_dir,
                       "--hold-out-images", pairs,
                       "--epochs", "1", "--batch-people", "4", "--per-person", "2", "--singles", "2",
                       "--val-fraction", "0.2", "--threads", "2"])
            self.assertEqual(rc, 0)
            self.assertLess(time.time() - t0, 60)

            model_path = os.path.join(out_dir, "model.onnx")
            m = onnx.load(model_path)
            onnx.checker.check_model(m)
            self.assertEqual([i.name for i in m.graph.input], ["input"])
            self.assertEqual([o.name for o in m.graph.output], ["embedding"])
            self.assertLessEqual(os.path.getsize(model_path), 1024 * 1024)
            emb = run_reference(model_path, np.random.RandomState(1).rand(3, 1, 62, 47).astype(np.float32))
            self.assertEqual(emb.shape, (3, 48))
            np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)

            # The weights are kept as such too, and reproduce the exported model's embeddings.
            saved = torch.load(os.path.join(out_dir, "model.pt"))
            from fvtrain.model import SiameseNet, parse_widths
            net = SiameseNet(parse_widths(saved["widths"]), saved["head_kernel"], saved["embedding_dim"], saved["head"])
            net.load_state_dict(saved["state_dict"])
            x = np.random.RandomState(1).rand(3, 1, 62, 47).astype(np.float32)
            with torch.no_grad():
                np.testing.assert_allclose(net.eval()(torch.from_numpy(x)).numpy(), emb, atol=1e-4)

            with open(os.path.join(out_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertEqual(report["exclusions"][0]["fold"], 0)
            self.assertEqual(report["held_out_images"]["images"], len(held))
            self.assertEqual(len(report["history"]), 1)
            self.assertFalse(os.path.exists(os.path.join(out_dir, "manifest.json")))


class WeightAveragingTest(unittest.TestCase):
    CFG = {"epochs": 3, "seed": 0, "batch_people": 4, "per_person": 2, "singles": 2, "lr": 3e-3,
           "final_lr_fraction": 0.01, "weight_decay": 0.05, "margin": 1.0, "hard_negatives": 8}

    def test_average_of_epochs(self):
        from fvtrain.model import SiameseNet, parse_widths
        from fvtrain.train import train

        with tempfile.TemporaryDirectory() as tmp:
            write_fake_crops(tmp)
            crops = load_crops(tmp)
            split = make_split(crops, set(), 0.2, 0)
            torch.manual_seed(0)
            model = SiameseNet(parse_widths("8,16"), 3, 16)
            per_epoch = []

            def log(msg: str) -> None:  # the weights as each epoch ends (logged right after it)
                if msg.startswith("epoch "):
                    per_epoch.append({k: v.clone() for k, v in model.state_dict().items()})

            with self.assertRaises(ValueError):  # no average starts at epoch 1
                train(model, crops, split, {**self.CFG, "swa_from": [2, 3], "keep": "swa1"}, log)
            self.assertEqual(per_epoch, [])  # refused before any training
            result = train(model, crops, split, {**self.CFG, "swa_from": [2, 3], "keep": "swa2"}, log)
        cands = result["candidates"]
        self.assertEqual(set(cands), {"best", "last", "swa2", "swa3"})
        self.assertEqual(len(per_epoch), 3)
        conv = "features.0.weight"
        # swa2 is the mean of epochs 2 and 3; swa3 of epoch 3 alone, i.e. the last weights.
        torch.testing.assert_close(cands["swa2"]["state"][conv], (per_epoch[1][conv] + per_epoch[2][conv]) / 2)
        torch.testing.assert_close(cands["swa3"]["state"][conv], cands["last"]["state"][conv])
        torch.testing.assert_close(cands["last"]["state"][conv], per_epoch[2][conv])
        self.assertFalse(torch.equal(per_epoch[1][conv], per_epoch[2][conv]))
        # BatchNorm statistics are re-estimated over one epoch of batches, not averaged.
        bn = "features.1.running_mean"
        self.assertFalse(torch.allclose(cands["swa3"]["state"][bn], cands["last"]["state"][bn]))
        self.assertEqual(int(cands["swa2"]["state"]["features.1.num_batches_tracked"]), cands["swa2"]["bn_batches"])
        self.assertGreater(cands["swa2"]["bn_batches"], 0)
        # The kept candidate is the one loaded into the model.
        torch.testing.assert_close(model.state_dict()[conv], cands["swa2"]["state"][conv])
        self.assertEqual(result["kept"], "swa2")
        for name in cands:
            self.assertTrue(0 <= cands[name]["val_acc"] <= 1)

    def test_alternates_exported(self):
        from fvtrain.export import run_reference

        with tempfile.TemporaryDirectory() as tmp:
            crops_dir = os.path.join(tmp, "crops")
            os.makedirs(crops_dir)
            write_fake_crops(crops_dir)
            out_dir = os.path.join(tmp, "model")
            args = ["--crops", crops_dir, "--out", out_dir, "--epochs", "2", "--batch-people", "4", "--per-person",
                    "2", "--singles", "2", "--val-fraction", "0.2", "--threads", "2", "--widths", "8,16"]
            for bad in (["--swa-from", "3"], ["--swa-from", "x"], ["--keep", "swa1"], ["--swa-from", "1", "--keep", "swa2"]):
                with self.assertRaises(SystemExit):
                    main(args + bad)
            self.assertEqual(main(args + ["--swa-from", "1", "--keep", "swa1", "--export-alternates"]), 0)
            with open(os.path.join(out_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertEqual(report["kept"], "swa1")
            self.assertEqual(report["hyperparameters"]["swa_from"], [1])
            self.assertEqual(report["candidates"]["swa1"]["onnx"]["file"], "model.onnx")
            x = np.random.RandomState(2).rand(4, 1, 62, 47).astype(np.float32)
            outputs = {}
            for name in ("best", "last", "swa1"):
                entry = report["candidates"][name]
                path = os.path.join(out_dir, entry["onnx"]["file"])
                self.assertTrue(os.path.exists(path), path)
                self.assertEqual(os.path.getsize(path), entry["onnx"]["bytes"])
                outputs[name] = run_reference(path, x)
            self.assertFalse(np.allclose(outputs["swa1"], outputs["last"], atol=1e-5))
            self.assertFalse(os.path.exists(os.path.join(out_dir, "model-swa1.onnx")))


class ArchitectureTest(unittest.TestCase):
    def test_stage_widths(self):
        from fvtrain.model import SiameseNet, count_params, parse_widths

        self.assertEqual(parse_widths("16,32+48"), [[(16, 3)], [(32, 3), (48, 3)]])
        for bad in ("16,,32", "16,x", "16,-8", ""):
            with self.assertRaises(ValueError):
                parse_widths(bad)
        net = SiameseNet(parse_widths("8,16+16"), 3, 12)
        convs = [m for m in net.features if m.__class__.__name__ == "Conv2d"]
        pools = [m for m in net.features if m.__class__.__name__ == "MaxPool2d"]
        self.assertEqual([c.out_channels for c in convs], [8, 16, 16])
        self.assertEqual(len(pools), 2)  # one per stage, not per conv
        # conv weights (1*8 + 8*16 + 16*16) * 9, BN scale+shift per channel, head 16*12*9 + 12
        self.assertEqual(count_params(net), (8 + 128 + 256) * 9 + 2 * 40 + 16 * 12 * 9 + 12)
        self.assertIn("Conv3x3(16)-BN-ReLU-Conv3x3(16)-BN-ReLU-MaxPool2", net.describe())

    def test_fp16_weights(self):
        import onnx

        from fvtrain.export import export_onnx, run_reference, verify_onnx
        from fvtrain.model import SiameseNet, parse_widths

        torch.manual_seed(0)
        net = SiameseNet(parse_widths("8,16,32+32"), 3, 16)
        net.train()
        with torch.no_grad():  # non-trivial BatchNorm statistics to fold
            net(torch.rand(32, 1, 62, 47))
        net.eval()
        sample = np.random.RandomState(2).randint(0, 256, (6, 62, 47)).astype(np.uint8)
        with tempfile.TemporaryDirectory() as tmp:
            full, half = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "fp16.onnx")
            export_onnx(net, full)
            export_onnx(net, half, "fp16")
            m = onnx.load(half)
            floats = [i for i in m.graph.initializer if i.data_type == onnx.TensorProto.FLOAT]
            self.assertEqual(floats, [])
            self.assertLess(os.path.getsize(half), 0.6 * os.path.getsize(full))
            report = verify_onnx(net, half, sample, tolerance=5e-3)
            self.assertIn("Cast", report["ops"])
            x = sample.astype(np.float32)[:, None] / 255
            diff = np.abs(run_reference(half, x) - run_reference(full, x)).max()
            self.assertGreater(diff, 0)  # the weights really were rounded
            self.assertLess(diff, 5e-3)
            with self.assertRaises(AssertionError):  # and the fp32 bound notices the rounding
                verify_onnx(net, half, sample, tolerance=1e-9)
            with self.assertRaises(ValueError):
                export_onnx(net, half, "int8")


class RuntimeTest(unittest.TestCase):
    def test_keep_freed_memory(self):
        import platform

        from fvtrain.runtime import keep_freed_memory

        result = keep_freed_memory()
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            self.assertTrue(result)
        else:
            self.assertIn(result, (True, False))


class MetricsTest(unittest.TestCase):
    def test_metrics(self):
        dist = np.array([0.1, 0.2, 0.3, 0.9, 1.0, 0.25])
        same = np.array([1, 1, 1, 0, 0, 0])
        acc, thr = best_threshold_accuracy(dist, same)
        self.assertAlmostEqual(acc, 5 / 6)
        self.assertAlmostEqual(roc_auc(dist, same), 8 / 9)
        self.assertAlmostEqual(roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0])), 1.0)


if __name__ == "__main__":
    unittest.main()
