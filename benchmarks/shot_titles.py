"""Generated titles for the shot-boundary benchmark: low-contrast shots (two dark shots that
differ only in light, or shots of one brightness that differ only in colour), fades through
black and dissolves, with every transition's frames known.

    python benchmarks/shot_titles.py --seed 1 --out /tmp/t1.mp4    # one title, to look at
"""
from __future__ import annotations

import argparse
import colorsys
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FPS = 24.0
SIZE = (480, 270)


@dataclass
class Transition:
    """A reference transition: `frame` is where the new shot starts (a gradual one's middle);
    a detection anywhere in [first, last] (frames) or within the tolerance of it matches it."""
    frame: int
    kind: str          # cut | fade | dissolve
    first: int
    last: int

    def to_dict(self) -> dict:
        return {"frame": self.frame, "kind": self.kind, "first": self.first, "last": self.last}


def _turn_hue(bgr: tuple[int, int, int], degrees: float) -> tuple[int, int, int]:
    b, g, r = (c / 255.0 for c in bgr)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    r, g, b = colorsys.hsv_to_rgb((h + degrees / 360.0) % 1.0, s, v)
    return int(round(b * 255)), int(round(g * 255)), int(round(r * 255))


def low_contrast_plan(seed: int, *, shots: int = 12):
    """[(ShotSpec, how it passes to the next shot)] for one title. Neighbouring shots share the
    texture seed and differ only in light (+-40-60% brightness), or only in colour (the base
    hue turned 25-60 degrees), or are two dark shots of one colour (mean luma 18-36 of 255,
    new textures); some pass through black, and some dissolve (always into a new texture)."""
    from tagger.synth import ShotSpec

    rng = np.random.default_rng([seed, 12])
    plan = []
    colour = tuple(int(c) for c in rng.integers(40, 200, 3))
    texture = int(rng.integers(1, 1000))
    brightness = float(rng.uniform(0.12, 0.45))
    for i in range(shots):
        duration = float(rng.uniform(1.5, 4.5))
        passing = str(rng.choice(["cut", "cut", "cut", "cut", "fade", "dissolve"])) if i < shots - 1 else "end"
        fade_in = plan[-1][1] == "fade" if plan else False
        spec = ShotSpec(duration, colour, brightness, float(rng.uniform(0.1, 0.4)), texture,
                        fade_in_s=0.6 if fade_in else 0.0, fade_out_s=0.6 if passing == "fade" else 0.0,
                        accent_hue_deg=30.0)
        plan.append((spec, passing))
        change = str(rng.choice(["light", "colour", "dark pair"]))
        if passing == "dissolve":
            change = "dark pair"   # a slow change of light alone on one picture is no shot change
        if change == "light":
            brightness = float(np.clip(brightness * rng.choice([0.6, 0.7, 1.4, 1.6]), 0.06, 0.6))
        elif change == "colour":
            colour = _turn_hue(colour, float(rng.choice([-1, 1]) * rng.uniform(25, 60)))
        else:
            brightness = float(rng.uniform(0.07, 0.14))
            texture = int(rng.integers(1, 1000))
    return plan


def render(plan, *, fps: float = FPS, size=SIZE, dissolve_s: float = 0.75):
    """(frames iterator, [Transition]) of a plan; dissolves blend the last and first
    `dissolve_s` of two shots (the title gets shorter by that much per dissolve)."""
    from tagger.synth import render_shots
    from tagger.synth.frames import frame_count

    truths, start = [], 0
    blend = int(round(dissolve_s * fps))
    lengths = [frame_count([spec], fps=fps) for spec, _ in plan]
    for i, (spec, passing) in enumerate(plan[:-1]):
        end = start + lengths[i]
        if passing == "cut":
            truths.append(Transition(end, "cut", end, end))
        elif passing == "fade":
            half = int(round(spec.fade_out_s * fps))
            truths.append(Transition(end, "fade", end - half, end + half))
        else:
            truths.append(Transition(end - blend // 2, "dissolve", end - blend, end - 1))
            end -= blend
        start = end

    def frames():
        held = []   # the tail of the previous shot, to dissolve into this one
        for i, (spec, passing) in enumerate(plan):
            shot = list(render_shots([spec], fps=fps, size=size))
            if held:
                for k, tail in enumerate(held):
                    alpha = (k + 0.5) / len(held)
                    shot[k] = np.clip(tail * (1 - alpha) + shot[k] * alpha + 0.5, 0, 255).astype(np.uint8)
                held = []
            if passing == "dissolve":
                held = [f.astype(np.float32) for f in shot[-blend:]]
                shot = shot[:-blend]
            yield from shot

    return frames(), truths


def write_title(seed: int, folder: Path) -> tuple[Path, list[Transition]]:
    """The title of `seed` as an MP4 in `folder` (cached) and its transitions."""
    from tagger import synth

    video = folder / f"low-contrast-{seed}.mp4"
    truth_file = video.with_suffix(".json")
    if video.is_file() and truth_file.is_file():
        return video, [Transition(**t) for t in json.loads(truth_file.read_text())]
    frames, truths = render(low_contrast_plan(seed))
    folder.mkdir(parents=True, exist_ok=True)
    synth.write_video(video, frames, fps=FPS, crf=20)
    truth_file.write_text(json.dumps([t.to_dict() for t in truths]))
    return video, truths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / ".cache" / "shots")
    args = parser.parse_args()
    video, truths = write_title(args.seed, args.out if args.out.suffix == "" else args.out.parent)
    print(video, [(t.frame, t.kind) for t in truths])
    return 0


if __name__ == "__main__":
    sys.exit(main())
