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


def cards_plan(seed: int, *, shots: int = 8):
    """[(ShotSpec, how it passes to the next shot)] of bright shots (mean luma 90-150 of 255)
    that cut or dissolve into new pictures: the dissolves a network should see."""
    from tagger.synth import ShotSpec

    rng = np.random.default_rng([seed, 21])
    plan = []
    for i in range(shots):
        colour = tuple(int(c) for c in rng.integers(60, 220, 3))
        passing = str(rng.choice(["cut", "cut", "dissolve"])) if i < shots - 1 else "end"
        plan.append((ShotSpec(float(rng.uniform(3.0, 5.0)), colour, float(rng.uniform(0.35, 0.6)),
                              float(rng.uniform(0.1, 0.3)), int(rng.integers(1, 1000))), passing))
    return plan


def with_title_cards(frames, truths, *, seed: int, fps: float = FPS, fade_s: float = 0.75, hold_s: float = 1.0):
    """`frames` with a bright card of text-like lines fading in over the picture, held, and
    fading out, once in each shot long enough, away from its boundaries: a gradual change that
    is not a shot change (opening credits over a scene)."""
    rng = np.random.default_rng([seed, 22])
    fade, hold = int(round(fade_s * fps)), int(round(hold_s * fps))
    edges = [0] + [t.last for t in truths]
    starts = [a + int(fps) // 2 for a, b in zip(edges, edges[1:]) if b - a > 2 * fade + hold + int(fps)]
    width, height = SIZE
    card = np.full((height, width, 3), 235, np.float32)
    for row in range(int(height * 0.35), int(height * 0.65), 14):     # lines of "text"
        card[row:row + 7, int(width * 0.2):int(width * rng.uniform(0.6, 0.8))] = 30
    mask = np.zeros((height, width, 1), np.float32)
    mask[int(height * 0.25):int(height * 0.75), int(width * 0.12):int(width * 0.88)] = 1.0

    def alpha(index: int) -> float:
        for start in starts:
            k = index - start
            if 0 <= k < fade:
                return (k + 0.5) / fade
            if fade <= k < fade + hold:
                return 1.0
            if fade + hold <= k < 2 * fade + hold:
                return 1.0 - (k - fade - hold + 0.5) / fade
        return 0.0

    for index, frame in enumerate(frames):
        a = alpha(index)
        if a > 0:
            frame = np.clip(frame * (1 - a * mask) + card * a * mask + 0.5, 0, 255).astype(np.uint8)
        yield frame


def write_title(seed: int, folder: Path, *, kind: str = "low-contrast") -> tuple[Path, list[Transition]]:
    """The title of `seed` as an MP4 in `folder` (cached) and its transitions. `kind`:
    low-contrast (low_contrast_plan) or cards (cards_plan with title cards over the picture)."""
    from tagger import synth

    video = folder / f"{kind}-{seed}.mp4"
    truth_file = video.with_suffix(".json")
    if video.is_file() and truth_file.is_file():
        return video, [Transition(**t) for t in json.loads(truth_file.read_text())]
    if kind == "cards":
        frames, truths = render(cards_plan(seed))
        frames = with_title_cards(frames, truths, seed=seed)
    else:
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
