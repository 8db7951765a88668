"""The PyTorch port of face-api's recognition net, and consistent teacher views end to end.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s packages/training/tests
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from fvtrain import views as views_cli  # noqa: E402
from fvtrain.cli import main as train_main  # noqa: E402
from fvtrain.data import concat_views, load_crops, load_mixes, load_views  # noqa: E402
from fvtrain.teacher import CHIP, default_model_dir, load_face_api_teacher  # noqa: E402

# face-api 1.7.15 on TensorFlow.js (packages/teacher's describe()) for the two synthetic chips of
# synthetic_chips(): every 16th of the 128 outputs.
TFJS_REFERENCE = np.array([
    [-0.07678, -0.101195, -0.124504, 0.093588, 0.162048, -0.102017, -0.109964, 0.222638],
    [-0.042358, -0.076421, -0.115865, 0.067626, 0.179188, -0.147611, -0.14329, 0.247323],
])


def synthetic_chips() -> np.ndarray:
    """Two RGB 150x150 patterns, 0-255 integers, [2,150,150,3]."""
    y, x, c = np.meshgrid(np.arange(CHIP), np.arange(CHIP), np.arange(3), indexing="ij")
    chips = [np.clip(np.round(128 + 90 * np.sin(x * (i + 1) / 11 + c) * np.cos(y / (7 + 3 * i))
                              + 20 * np.sin((x + y) / 5)), 0, 255) for i in range(2)]
    return np.stack(chips).astype(np.float32)


@unittest.skipUnless(os.path.isdir(default_model_dir()), "face-api is not installed (npm ci)")
class TeacherPortTest(unittest.TestCase):
    def test_matches_tensorflow_js(self):
        model = load_face_api_teacher()
        with torch.no_grad():
            out = model(torch.from_numpy(synthetic_chips()).permute(0, 3, 1, 2).contiguous()).numpy()
        self.assertEqual(out.shape, (2, 128))
        np.testing.assert_allclose(out[:, ::16], TFJS_REFERENCE, atol=2e-5)


# Where the fake images put dlib's mean face: image = unit * FACE_SCALE + FACE_OFFSET.
FACE_SCALE, FACE_OFFSET = 100.0, np.array([72.0, 80.0])


def face_landmarks(jitter: np.ndarray) -> np.ndarray:
    """68 landmarks (image pixels) of a face placed at FACE_SCALE/FACE_OFFSET; points 0-16 unused."""
    pts = np.zeros((68, 2))
    pts[17:] = np.stack([views_cli.MEAN_FACE_X, views_cli.MEAN_FACE_Y], axis=1) * FACE_SCALE + FACE_OFFSET
    return (pts + jitter).astype(np.float32).reshape(-1)


def gradient_image(seed: int) -> np.ndarray:
    """A smooth 250x250 image: bilinear sampling reproduces it, so crops can be predicted exactly."""
    y, x = np.mgrid[0:250, 0:250].astype(np.float64)
    return 40 + 0.5 * x + 0.25 * y + 10 * seed


def write_lfw_and_crops(root: str, template: dict, people: int = 8, per_person: int = 3) -> tuple[str, str]:
    images_dir, crops_dir = os.path.join(root, "lfw"), os.path.join(root, "crops")
    os.makedirs(crops_dir)
    to_crop = np.array([[template["scale"] / FACE_SCALE, 0], [0, template["scale"] / FACE_SCALE]])
    offset = np.array([template["dx"], template["dy"]]) - to_crop @ FACE_OFFSET
    crops, landmarks, rows = [], [], []
    for p in range(people):
        name = f"Person_{p:02d}"
        os.makedirs(os.path.join(images_dir, name))
        for k in range(1, per_person + 1):
            img = gradient_image(p)
            Image.fromarray(np.round(img).astype(np.uint8)).save(
                os.path.join(images_dir, name, f"{name}_{k:04d}.png"), format="PNG")
            os.rename(os.path.join(images_dir, name, f"{name}_{k:04d}.png"),
                      os.path.join(images_dir, name, f"{name}_{k:04d}.jpg"))  # lossless bytes, LFW's name
            # The crop the serving path would cut: crop pixel centre u -> image point (u - offset) / s.
            v, u = np.mgrid[0:62, 0:47].astype(np.float64) + 0.5
            ix, iy = (u - offset[0]) / to_crop[0, 0] - 0.5, (v - offset[1]) / to_crop[1, 1] - 0.5
            crops.append(np.round(40 + 0.5 * ix + 0.25 * iy + 10 * p).astype(np.uint8))
            landmarks.append(face_landmarks(np.zeros((68, 2))))
            rows.append((name, k))
    # One face whose landmarks were not trusted: its views are framed by its box crop, here the box
    # whose crop region (packages/core's faceCropRegion) is exactly that crop.
    landmarks[-1][:] = np.nan
    width = 47 / to_crop[0, 0]
    left, top = -offset[0] / to_crop[0, 0], -offset[1] / to_crop[0, 0]
    side = width / views_cli.BOX_CROP_WIDTH_SCALE
    centre_y = top + 31 / to_crop[0, 0]
    box = (left + width / 2 - side / 2, centre_y - (0.5 + views_cli.BOX_CROP_CENTRE_SHIFT) * side, side, side)
    with open(os.path.join(crops_dir, "boxes.tsv"), "w", encoding="utf-8") as fh:
        fh.write("index\tx\ty\twidth\theight\n")
        for i in range(len(rows)):
            fh.write(f"{i}\t" + "\t".join(f"{v:.6f}" for v in box) + "\n")
    np.stack(crops).tofile(os.path.join(crops_dir, "crops.u8"))
    np.stack(landmarks).astype("<f4").tofile(os.path.join(crops_dir, "landmarks.f32"))
    with open(os.path.join(crops_dir, "index.tsv"), "w", encoding="utf-8") as fh:
        fh.write("index\tname\timage\tdetected\tfaces\n")
        for i, (name, k) in enumerate(rows):
            fh.write(f"{i}\t{name}\t{k}\t1\t1\n")
    with open(os.path.join(crops_dir, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump({"height": 62, "width": 47, "count": len(rows), "crop": {"mode": "aligned", "template": template}}, fh)
    return images_dir, crops_dir


class ViewGeometryTest(unittest.TestCase):
    def test_fit_similarity_recovers_a_transform(self):
        rng = np.random.RandomState(1)
        src = rng.rand(20, 2) * 100
        a, b = 0.8 * np.cos(0.3), 0.8 * np.sin(0.3)
        dst = src @ np.array([[a, b], [-b, a]]) + [5, -7]
        np.testing.assert_allclose(views_cli.fit_similarity(src, dst), [[a, -b, 5], [b, a, -7]], atol=1e-9)

    def test_augmentation_keeps_the_crop_centre(self):
        maker = views_cli.ViewMaker({"scale": 41.8, "dx": 3.01, "dy": 12.3, "points": [27, 47]}, 0, 0.07, 6, 0,
                                    np.random.RandomState(0))
        for _ in range(5):
            m = maker.unit_map(maker.augmentation())
            np.testing.assert_allclose(m[:, :2] @ maker.centre + m[:, 2], maker.centre, atol=1e-12)

    def test_warps_of_several_maps_match_one_map_at_a_time(self):
        # Maps that need 1, 2 and 4 taps, interleaved: every output lands in its own slot.
        image = torch.from_numpy(gradient_image(3).astype(np.float32) / 255.0)
        maps = [np.array([[k * np.cos(a), -k * np.sin(a), 10 + a], [k * np.sin(a), k * np.cos(a), -4 - a]])
                for k, a in ((0.3, 0.1), (1.2, -0.2), (0.55, 0.3), (0.29, -0.1), (1.0, 0.0), (0.6, 0.05))]
        self.assertEqual(sorted({views_cli.taps_for(np.hypot(m[0, 0], m[1, 0])) for m in maps}), [1, 2, 4])
        together = views_cli.warp(image, maps, 47, 62)
        self.assertEqual(tuple(together.shape), (6, 62, 47))
        for i, m in enumerate(maps):
            torch.testing.assert_close(together[i], views_cli.warp(image, [m], 47, 62)[0], rtol=0, atol=1e-6)
        self.assertGreater(float((together[0] - together[1]).abs().max()), 0.05)

    def test_refuses_a_device_it_cannot_use(self):
        with tempfile.TemporaryDirectory() as tmp:
            for device in ("no-such-device", "cuda:99" if torch.cuda.is_available() else "cuda"):
                with self.assertRaises(SystemExit) as caught:
                    train_main(["--crops", tmp, "--out", tmp, "--device", device])
                self.assertIn(f"--device {device}", str(caught.exception))
            if not torch.cuda.is_available():
                rc = views_cli.main(["--crops", tmp, "--images", tmp, "--out", tmp, "--device", "cuda"])
                self.assertEqual(rc, 2)


@unittest.skipUnless(os.path.isdir(default_model_dir()), "face-api is not installed (npm ci)")
class ViewsEndToEndTest(unittest.TestCase):
    def test_views_then_training(self):
        template = {"scale": 41.8, "dx": 3.01, "dy": 12.3, "points": [27, 47]}
        with tempfile.TemporaryDirectory() as tmp:
            images_dir, crops_dir = write_lfw_and_crops(tmp, template)
            out = os.path.join(tmp, "views")
            rc = views_cli.main(["--crops", crops_dir, "--images", images_dir, "--out", out, "--views", "3",
                                 "--threads", "1", "--batch", "5"])
            self.assertEqual(rc, 0)
            crops = load_crops(crops_dir)
            views = load_views(out, crops)
            self.assertEqual(views.crops.shape, (3, len(crops), 62, 47))
            self.assertTrue(views.rows.all())
            # View 0 reproduces the serving crop (to rounding); augmented views differ from it.
            has = views.rows
            diff0 = np.abs(views.crops[0, has].astype(int) - crops.images[has]).max()
            self.assertLessEqual(diff0, 1)
            self.assertGreater(np.abs(views.crops[1, has].astype(int) - crops.images[has]).mean(), 2)
            norms = np.linalg.norm(views.target[:, has], axis=2)
            np.testing.assert_allclose(norms, 1, atol=1e-5)
            # The teacher embedded each view's own chip: augmented views' targets move.
            self.assertGreater(float(np.abs(views.target[1, has] - views.target[0, has]).max()), 1e-3)
            # view 0 as an embedding cache the eval CLI reads
            with open(os.path.join(out, "teacher0", "index.tsv"), encoding="utf-8") as fh:
                self.assertEqual(len(fh.read().strip().split("\n")), 1 + len(crops))

            # Mismatched crops are refused, not misread.
            bad = os.path.join(tmp, "bad")
            os.makedirs(bad)
            for f in ("crops.u8", "index.tsv"):
                with open(os.path.join(crops_dir, f), "rb") as src, open(os.path.join(bad, f), "wb") as dst:
                    data = src.read()
                    dst.write(data[: 62 * 47 * 5] if f == "crops.u8" else b"\n".join(data.split(b"\n")[:6]) + b"\n")
            with open(os.path.join(bad, "meta.json"), "w", encoding="utf-8") as fh:
                json.dump({"height": 62, "width": 47, "count": 5}, fh)
            with self.assertRaises(ValueError):
                load_views(out, load_crops(bad))

            # Blends of two people's faces, each with the teacher's embedding of the blend.
            mix_dir = os.path.join(tmp, "mixes")
            rc = views_cli.main(["--crops", crops_dir, "--images", images_dir, "--out", mix_dir, "--mixes", "12",
                                 "--threads", "1", "--batch", "5", "--seed", "3"])
            self.assertEqual(rc, 0)
            mixes = load_mixes(mix_dir, crops)
            self.assertEqual(mixes.crops.shape, (12, 62, 47))
            names = np.array(crops.names)
            self.assertTrue(np.all(names[mixes.sources[:, 0]] != names[mixes.sources[:, 1]]))
            np.testing.assert_allclose(np.linalg.norm(mixes.target, axis=1), 1, atol=1e-5)
            lam = np.fromfile(os.path.join(mix_dir, "lambda.f32"), dtype="<f4")
            self.assertTrue(np.all((lam >= 0.2) & (lam <= 0.8)))
            only_first = np.zeros(len(crops), dtype=bool)
            only_first[mixes.sources[0]] = True
            self.assertIn(0, mixes.within(only_first))
            self.assertTrue(np.all(only_first[mixes.sources[mixes.within(only_first)]]))

            # Several view sets pool their views; a row keeps views only where every set has them.
            partial = load_views(out, crops)
            partial.rows = partial.rows.copy()
            partial.rows[0] = False
            pooled = concat_views([load_views(out, crops), partial])
            self.assertEqual(pooled.crops.shape, (6, len(crops), 62, 47))
            self.assertEqual(pooled.target.shape[:2], (6, len(crops)))
            self.assertFalse(pooled.rows[0])
            self.assertEqual(int(pooled.rows.sum()), int(views.rows.sum()) - 1)

            model_dir = os.path.join(tmp, "model")
            rc = train_main(["--crops", crops_dir, "--views", out, "--views", out, "--mixes", mix_dir,
                             "--mix-per-batch", "4",
                             "--out", model_dir, "--epochs", "1",
                             "--threads", "1", "--batch-people", "4", "--per-person", "2", "--singles", "0",
                             "--val-fraction", "0.25", "--distill-direct", "1"])
            self.assertEqual(rc, 0)
            with open(os.path.join(model_dir, "training.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertGreater(report["teacher"]["train_rows_with_teacher"], 0)
            self.assertGreater(report["teacher"]["mixes_of_training_faces"], 0)
            self.assertLess(report["teacher"]["mixes_of_training_faces"], 12)  # validation faces never blend in
            self.assertGreater(report["history"][0]["distill_direct"], 0)
            with self.assertRaises(SystemExit):
                train_main(["--crops", crops_dir, "--views", out, "--teacher", out, "--out", model_dir])


if __name__ == "__main__":
    unittest.main()
