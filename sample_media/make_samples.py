"""(Re)create the bundled sample titles next to this file.

    python sample_media/make_samples.py            # all titles
    python sample_media/make_samples.py night-shift quiet-valley

Each title is a folder ``<id>/`` with ``<id>.mp4`` (640x360, 24 fps, H.264 + AAC), a subtitle
file and ``title.toml``. Everything is generated with tagger.synth from fixed seeds, so the
output is the same on every run (up to encoder version). The titles are built so their visual,
audio and dialogue signals differ the way real genres do; see README.md next to this file.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
if __name__ == "__main__" and str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # run as a script from a checkout

from tagger import synth  # noqa: E402
from tagger.synth import ShotSpec  # noqa: E402

FPS = 24
SIZE = (640, 360)  # width, height
SR = 22050

Cue = tuple[float, float, str]


@dataclass
class Title:
    id: str
    meta: dict
    shots: list[ShotSpec]
    cues: list[Cue]
    subtitle_ext: str  # "srt" or "vtt"
    audio: Callable[[float, list[Cue]], np.ndarray]  # (total_s, cues) -> float32 mono at SR
    crf: int = 28

    @property
    def duration_s(self) -> float:
        return synth.frame_count(self.shots, fps=FPS) / FPS


# ------------------------------------------------------------------------------ audio helpers

def _env_decay(n: int, tau_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (tau_s * SR)).astype(np.float32)


def _adsr(x: np.ndarray, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack and release on a copy of x (soft pads and swells)."""
    x = x.copy()
    a, r = min(int(attack_s * SR), len(x) // 2), min(int(release_s * SR), len(x) // 2)
    if a:
        x[:a] *= np.linspace(0, 1, a, dtype=np.float32)
    if r:
        x[-r:] *= np.linspace(1, 0, r, dtype=np.float32)
    return x


def _thump(freq_hz: float, length_s: float, amp: float) -> np.ndarray:
    """A low sine thump with a falling pitch (kick drum / heartbeat)."""
    n = int(length_s * SR)
    t = np.arange(n) / SR
    f = freq_hz * (1 + 0.8 * np.exp(-t / 0.02))
    phase = 2 * np.pi * np.cumsum(f) / SR
    return (np.sin(phase) * _env_decay(n, length_s / 4) * amp).astype(np.float32)


def _snare(length_s: float, amp: float, rng: np.random.Generator,
           body_hz: float = 190.0) -> np.ndarray:
    n = int(length_s * SR)
    noise = np.diff(rng.normal(0, 1, n + 1)).astype(np.float32) * 0.5
    body = np.sin(2 * np.pi * body_hz * np.arange(n) / SR).astype(np.float32) * 0.6
    return (noise + body) * _env_decay(n, length_s / 5) * amp


def _hat(length_s: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Closed hi-hat: a very short burst of high-passed noise."""
    n = int(length_s * SR)
    return (np.diff(rng.normal(0, 1, n + 1)) * _env_decay(n, 0.008) * amp).astype(np.float32)


def _at(track: np.ndarray, sig: np.ndarray, t_s: float) -> None:
    """Add sig into track starting at t_s (clipped at the end)."""
    i = int(round(t_s * SR))
    if i >= len(track):
        return
    seg = sig[:len(track) - i]
    track[i:i + len(seg)] += seg


def _speech_over(cues: list[Cue], total_s: float, amp: float, seed: int) -> np.ndarray:
    """Speech-like voice under every cue, so the audio's speech matches the subtitles."""
    track = np.zeros(int(round(total_s * SR)), np.float32)
    for k, (a, b, _text) in enumerate(cues):
        voice = synth.speech_like(duration_s=b - a, sample_rate_hz=SR, seed=seed + k,
                                  amplitude=amp)
        _at(track, voice, a)
    return track


def _timed(lines: list[str], *, start_s: float, end_s: float, coverage_s: float) -> list[Cue]:
    """Spread lines over [start_s, end_s]: cue lengths proportional to text length, summing to
    coverage_s, with equal gaps between them."""
    weights = np.array([len(t) + 12 for t in lines], float)
    lengths = weights / weights.sum() * coverage_s
    gap = (end_s - start_s - coverage_s) / max(len(lines) - 1, 1)
    if gap <= 0:
        raise ValueError("coverage does not fit")
    cues, t = [], start_s
    for text, length in zip(lines, lengths):
        cues.append((round(t, 2), round(t + length, 2), text))
        t += length + gap
    return cues


# ------------------------------------------------------------------------------------ titles

def night_shift() -> Title:
    # Cool, dark, long takes. Shots 1->2 and 3->4 fade to black and then cut in hard; the rest
    # are plain cuts. The film opens from black and ends on black.
    # Muted blue shots alternate with greyish teal ones (different set-ups, so each cut
    # changes saturation as well as layout); all turn toward deep blue across the frame.
    shots = [
        ShotSpec(8.0, (125, 85, 40), 0.18, 0.12, 101, fade_in_s=1.5, fade_out_s=1.5,
                 accent_hue_deg=24),
        ShotSpec(7.0, (105, 100, 80), 0.22, 0.10, 102, accent_hue_deg=24),
        ShotSpec(9.0, (140, 95, 50), 0.16, 0.15, 103, fade_out_s=2.0, accent_hue_deg=24),
        ShotSpec(6.5, (110, 105, 75), 0.24, 0.12, 104, accent_hue_deg=24),
        ShotSpec(8.5, (130, 80, 40), 0.17, 0.08, 105, fade_out_s=2.5, accent_hue_deg=24),
    ]
    cues = [
        (3.0, 4.6, "Who's there?"),
        (6.2, 7.8, "Nobody. Go back to sleep."),
        (10.5, 12.3, "The phone rang again at three."),
        (13.0, 14.4, "Did you answer it?"),
        (16.8, 18.6, "He knows where we live, Maya."),
        (19.5, 21.0, "Don't open the door."),
        (23.4, 25.2, "Why is the hallway light off?"),
        (27.0, 28.6, "I locked it. I know I did."),
        (33.8, 35.4, "Someone's been in my locker."),
        (36.0, 37.6, "Please... just stay with me."),
    ]

    def audio(total_s: float, cues: list[Cue]) -> np.ndarray:
        n = int(round(total_s * SR))
        # D minor drone (D2 A2 D3 F3) swelling slowly; drops out for a silent stretch.
        drone = synth.tone([73.42, 110.0, 146.83, 174.61], duration_s=total_s,
                           sample_rate_hz=SR, amplitude=0.22, harmonics=4)
        t = np.arange(n) / SR
        drone *= (0.65 + 0.35 * np.sin(2 * np.pi * 0.07 * t - np.pi / 2)).astype(np.float32)
        quiet = (t >= 29.5) & (t < 33.5)
        drone[quiet] = 0.0
        # Ease the drone out of and back into the silence.
        half = SR // 2
        i = int(29.5 * SR)
        drone[i - half:i] *= np.linspace(1, 0, half, dtype=np.float32)
        i = int(33.5 * SR)
        drone[i:i + half] *= np.linspace(0, 1, half, dtype=np.float32)
        # Heartbeat ~60 BPM (lub-dub) from 8 s, and a ticking clock at 60 BPM throughout (the
        # clock's clear onsets hold a beat tracker at 60 rather than the dialogue's syllables);
        # both stop for the silent stretch.
        beats = np.zeros(n, np.float32)
        lub, dub = _thump(55.0, 0.25, 0.55), _thump(73.42, 0.2, 0.35)
        for start in list(np.arange(8.0, 29.0, 1.0)) + list(np.arange(34.0, 38.0, 1.0)):
            _at(beats, lub, start)
            _at(beats, dub, start + 0.28)
        clock = synth.click_track(60, duration_s=total_s, sample_rate_hz=SR, accent_every=2,
                                  amplitude=0.15)
        clock[quiet] = 0.0
        voice = _speech_over(cues, total_s, 0.3, seed=1000)
        # Room tone (~-66 dBFS): the silence is quiet, not digital zero.
        room = np.random.default_rng(1).normal(0, 0.0005, n).astype(np.float32)
        return synth.mix(drone, beats, clock, voice, room)

    meta = dict(
        id="night-shift", title="Night Shift", year=2023, original_language="en",
        regions=["US", "CA", "GB"], release_date="2023-10-27",
        synopsis=("Maya Okafor works the night shift on a half-empty hospital ward. When calls "
                  "from an unknown number start arriving at 3 a.m. and a patient she discharged "
                  "weeks ago keeps turning up in the corridors, she becomes convinced she is "
                  "being followed home. As her colleagues begin to doubt her, the line between "
                  "paranoia and real danger blurs in this slow-burning psychological thriller."),
        cast=["Adaeze Nwosu", "Callum Reyes", "Ingrid Solberg", "Tomasz Wielki"],
    )
    return Title("night-shift", meta, shots, cues, "srt", audio, crf=26)


def sunny_side_up() -> Title:
    rng = np.random.default_rng(7)
    # Sunlit yellows and oranges (turning toward orange) alternate with coral pinks (turning a
    # little toward rose), so every cut changes hue as well as layout. Pinks cannot be both
    # saturated and very bright, so they sit a little darker; the title averages ~0.72 luma.
    yellows = [(0, 220, 255), (0, 165, 255), (20, 200, 250), (10, 185, 245)]
    pinks = [(90, 110, 255), (120, 100, 250), (80, 90, 245), (130, 120, 255)]
    shots, t, k = [], 0.0, 0
    while t < 35.5:
        d = float(np.round(rng.uniform(1.0, 2.0), 2))
        motion = float(np.round(rng.uniform(0.75, 0.95), 2))
        if k % 2 == 0:
            colour, turn, bright = yellows[(k // 2) % 4], -24, rng.uniform(0.76, 0.82)
        else:
            colour, turn, bright = pinks[(k // 2) % 4], -16, rng.uniform(0.64, 0.7)
        shots.append(ShotSpec(d, colour, float(np.round(bright, 2)), motion, 200 + k,
                              accent_hue_deg=turn))
        t += d
        k += 1
    lines = [
        "Who put pancakes in the wedding cake?!",
        "Technically, it's a breakfast wedding!",
        "Grandma, that's the ring, not a cheerio!",
        "Relax! I've got a food truck and a plan.",
        "Your plan is on fire, Benny!",
        "Flambé! It's called flambé!",
        "The groom is stuck in the bouncy castle.",
        "Again? That's three weddings in a row!",
        "Okay, nobody panic. Where's the goat?",
        "Why is there a goat?",
        "He's the ring bearer. Long story!",
        "I love you. Now pass me the syrup.",
        "Is it legally binding if it's sticky?",
        "Everybody smile! Say 'waffles'!",
        "Waffles!",
        "Mom, the truck is rolling downhill!",
        "Then the reception is moving too!",
        "Best. Wedding. Ever!",
        "Next year we elope. With snacks.",
        "Deal! Extra bacon!",
    ]

    def audio(total_s: float, cues: list[Cue]) -> np.ndarray:
        n = int(round(total_s * SR))
        bpm = 140.0
        beat = 60.0 / bpm
        # I-IV-V-I in C major, one chord per bar, played as staccato stabs on every beat.
        prog = [("C", "G"), ("F", "C"), ("G", "D"), ("C", "G")]
        roots = {"C": 130.81, "F": 174.61, "G": 196.0}
        music = np.zeros(n, np.float32)
        melody_notes = [523.25, 587.33, 659.25, 783.99, 880.0, 783.99, 659.25, 587.33]
        b = 0
        while b * beat < total_s:
            root, _fifth = prog[(b // 4) % 4]
            stab = synth.chord(root, "major", duration_s=beat * 0.6, octave=4,
                               sample_rate_hz=SR, amplitude=0.22, harmonics=3)
            stab *= _env_decay(len(stab), 0.12)
            _at(music, stab, b * beat)
            bass = synth.tone(roots[root] / 2, duration_s=beat * 0.9, sample_rate_hz=SR,
                              amplitude=0.25, harmonics=2)
            _at(music, bass * _env_decay(len(bass), 0.2), b * beat)
            if b % 2 == 0:  # bouncy pentatonic melody on the off-beats
                note = synth.tone(melody_notes[(b // 2) % 8], duration_s=beat * 0.45,
                                  sample_rate_hz=SR, amplitude=0.16, harmonics=2)
                _at(music, note * _env_decay(len(note), 0.1), (b + 0.5) * beat)
            b += 1
        clicks = synth.click_track(bpm, duration_s=total_s, sample_rate_hz=SR, amplitude=0.35)
        voice = _speech_over(cues, total_s, 0.45, seed=2000)
        return synth.mix(music, clicks, voice)

    title = Title("sunny-side-up", {}, shots, [], "srt", audio, crf=30)
    total = title.duration_s
    title.cues = _timed(lines, start_s=0.5, end_s=total - 0.5, coverage_s=0.8 * total)
    title.meta = dict(
        id="sunny-side-up", title="Sunny Side Up", year=2024, original_language="en",
        regions=["US", "GB", "AU", "IE"], release_date="2024-06-14",
        synopsis=("When the caterer cancels the morning of his sister's wedding, Benny Alvarez "
                  "talks the family into serving breakfast from his battered food truck. What "
                  "follows is a gloriously chaotic day of runaway pancakes, a goat ring bearer, a "
                  "groom trapped in a bouncy castle and three generations of relatives who cannot "
                  "agree on anything except that love, like syrup, gets everywhere. A feel-good "
                  "romantic family comedy."),
        cast=["Marisol Vega", "Danny Okoye", "Priya Chandran", "Walter Brennan-Hale",
              "Lucy Tran"],
    )
    return title


def quiet_valley() -> Title:
    # Long, slow pans over greens (turning toward yellow-green) and blues (turning toward deep
    # blue); hard cuts, a fade in and a fade out at the ends.
    shots = [
        ShotSpec(11.0, (60, 140, 45), 0.45, 0.12, 301, fade_in_s=1.0, accent_hue_deg=-20),
        ShotSpec(12.5, (175, 125, 55), 0.50, 0.10, 302, accent_hue_deg=20),
        ShotSpec(10.5, (80, 170, 100), 0.55, 0.14, 303, accent_hue_deg=-20),
        ShotSpec(10.0, (190, 160, 95), 0.52, 0.10, 304, fade_out_s=1.5, accent_hue_deg=20),
    ]
    lines = [
        "In the high valley, spring arrives slowly, one melting stream at a time.",
        "The river gathers snowmelt from a dozen hidden springs.",
        "Along its banks, a family of otters hunts for the season's first trout.",
        "By midsummer the meadows are thick with clover and the hum of bees.",
        "At dusk, red deer move up the slopes, following the cooler air.",
        "In autumn the beeches turn to copper, and the salmon come home to spawn.",
        "Under the first snow, the valley rests and waits for the thaw.",
    ]

    def audio(total_s: float, cues: list[Cue]) -> np.ndarray:
        # A soft G major pad (G-C-G-D, one chord per ~11 s) under speech-like narration.
        n = int(round(total_s * SR))
        pad = np.zeros(n, np.float32)
        seg = total_s / 4
        for i, (root, octv) in enumerate([("G", 3), ("C", 4), ("G", 3), ("D", 4)]):
            c = synth.chord(root, "major", duration_s=seg + 1.5, octave=octv,
                            sample_rate_hz=SR, amplitude=0.1, harmonics=2)
            _at(pad, _adsr(c, 2.0, 2.0), i * seg - (0.75 if i else 0.0))
        voice = _speech_over(cues, total_s, 0.5, seed=3000)
        return synth.mix(pad, voice)

    title = Title("quiet-valley", {}, shots, [], "vtt", audio, crf=28)
    total = title.duration_s
    title.cues = _timed(lines, start_s=1.5, end_s=total - 1.5, coverage_s=0.6 * total)
    title.meta = dict(
        id="quiet-valley", title="Quiet Valley", year=2022, original_language="en",
        regions=["GB", "NZ", "CA", "NO"], release_date="2022-04-22",
        synopsis=("A year in a remote mountain valley, from the first spring thaw to the first "
                  "winter snow. Patient cameras follow the river as it swells with snowmelt, a "
                  "family of otters raising their young, red deer on the high slopes and salmon "
                  "returning upstream in autumn. A calm, contemplative wildlife documentary about "
                  "seasons, water and the animals that depend on both."),
        cast=["Eleanor Ashdown (narrator)"],
    )
    return title


def red_line() -> Title:
    # Fast, dark-ish warm action: 0.7-1.3 s shots of reds and oranges with high motion.
    rng = np.random.default_rng(11)
    # Saturated reds/oranges alternate with dusky browns/ambers (so each cut changes saturation
    # as well as layout). Green stays above blue in every base so the hue never wraps round 0/180
    # inside a shot.
    vivid = [((15, 45, 200), 30), ((10, 95, 230), -16), ((20, 60, 190), 24)]
    dusky = [((70, 95, 150), -16), ((60, 110, 160), 20), ((75, 85, 140), 24)]
    shots, t, k = [], 0.0, 0
    while t < 29.5:
        d = float(np.round(rng.uniform(0.7, 1.3), 2))
        colour, turn = (vivid if k % 2 == 0 else dusky)[(k // 2) % 3]
        shots.append(ShotSpec(d, colour, float(np.round(rng.uniform(0.28, 0.38), 2)),
                              float(np.round(rng.uniform(0.85, 1.0), 2)), 400 + k,
                              accent_hue_deg=turn))
        t += d
        k += 1
    cues = [
        (2.2, 3.0, "Move! Now!"),
        (8.4, 9.6, "The bridge is wired."),
        (15.0, 15.8, "Get down!"),
        (21.3, 22.6, "We're not stopping this train."),
        (26.5, 27.4, "Hold on!"),
    ]

    def audio(total_s: float, cues: list[Cue]) -> np.ndarray:
        n = int(round(total_s * SR))
        bpm = 160.0
        beat = 60.0 / bpm
        drums = np.zeros(n, np.float32)
        bass = np.zeros(n, np.float32)
        drng = np.random.default_rng(5)
        # Drums tuned to the key (kick on E1, snare body on E3) so they do not blur it.
        kick, snare = _thump(41.2, 0.3, 0.9), _snare(0.18, 0.6, drng, body_hz=164.8)
        hat = _hat(0.04, 0.25, drng)
        # E minor riff (E-G-B-D over an E pedal) in driving eighths.
        riff = [82.41, 82.41, 98.0, 82.41, 123.47, 82.41, 146.83, 98.0]
        b = 0
        while b * beat < total_s:
            _at(drums, kick, b * beat)
            if b % 2 == 1:
                _at(drums, snare, b * beat)
            _at(drums, hat, b * beat)
            _at(drums, hat * 0.6, (b + 0.5) * beat)
            for half in (0, 1):
                note = synth.tone(riff[(2 * b + half) % 8], duration_s=beat * 0.45,
                                  sample_rate_hz=SR, amplitude=0.3, harmonics=3)
                _at(bass, note * _env_decay(len(note), 0.12), (b + half / 2) * beat)
            b += 1
        stabs = np.zeros(n, np.float32)
        for bar in range(int(total_s / (4 * beat)) + 1):  # Em Em C D
            root = ["E", "E", "C", "D"][bar % 4]
            c = synth.chord(root, "minor" if root == "E" else "major", duration_s=beat * 3,
                            octave=3, sample_rate_hz=SR, amplitude=0.3, harmonics=3)
            _at(stabs, c * _env_decay(len(c), 0.5), bar * 4 * beat)
        voice = _speech_over(cues, total_s, 0.6, seed=4000)
        # Drive it into a soft clipper: loud and dense, as action mixes are.
        mixed = synth.mix(drums, bass, stabs, voice)
        return (np.tanh(2.5 * mixed) / np.tanh(2.5 * 0.9) * 0.9).astype(np.float32)

    meta = dict(
        id="red-line", title="Red Line", year=2025, original_language="en",
        regions=["US", "DE", "KR"], release_date="2025-03-07",
        synopsis=("A disgraced transit cop has forty minutes to stop a hijacked night train "
                  "racing across the city towards a bridge rigged with explosives. Cut off from "
                  "her precinct and hunted by the crew who took the train, she fights car by car "
                  "through the dark, with a frightened teenage passenger as her only ally. A "
                  "relentless, stripped-down action thriller."),
        cast=["Rhea Castellano", "Jun-ho Baek", "Kofi Mensah", "Greta Lindqvist"],
    )
    return Title("red-line", meta, shots, cues, "srt", audio, crf=31)


TITLES = {"night-shift": night_shift, "sunny-side-up": sunny_side_up,
          "quiet-valley": quiet_valley, "red-line": red_line}


# ---------------------------------------------------------------------------------- writing

def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def write_title_toml(path: Path, meta: dict) -> Path:
    order = ["id", "title", "synopsis", "year", "original_language", "regions",
             "release_date", "cast"]
    keys = order + [k for k in meta if k not in order]
    path.write_text("".join(f"{k} = {_toml_value(meta[k])}\n" for k in keys if k in meta),
                    encoding="utf-8")
    return path


def build(title: Title, out_dir: Path = HERE) -> Path:
    folder = out_dir / title.id
    folder.mkdir(parents=True, exist_ok=True)
    total = title.duration_s
    audio = title.audio(total, title.cues)
    frames = synth.render_shots(title.shots, fps=FPS, size=SIZE)
    video = synth.write_video(folder / f"{title.id}.mp4", frames, fps=FPS, audio=audio,
                              sample_rate_hz=SR, crf=title.crf)
    writer = synth.write_vtt if title.subtitle_ext == "vtt" else synth.write_srt
    writer(folder / f"{title.id}.en.{title.subtitle_ext}", title.cues)
    write_title_toml(folder / "title.toml", title.meta)
    return video


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(TITLES)
    unknown = [n for n in names if n not in TITLES]
    if unknown:
        print(f"unknown title(s): {', '.join(unknown)}; known: {', '.join(TITLES)}",
              file=sys.stderr)
        return 2
    for name in names:
        title = TITLES[name]()
        video = build(title)
        cov = sum(b - a for a, b, _ in title.cues) / title.duration_s
        print(f"{name}: {title.duration_s:.2f} s, {len(title.shots)} shots, "
              f"cuts at frames {synth.cut_frames(title.shots, fps=FPS)}, "
              f"subtitles {cov:.0%} of runtime, {video.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
