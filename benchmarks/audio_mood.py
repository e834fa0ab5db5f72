"""Audio mood against listeners: cross-validated arousal and valence on the 4Q music emotion set.

    python benchmarks/audio_mood.py --data DIR/MER_audio_taffc_dataset [--cache DIR] [--fit]

The 4Q set (Panda, Malheiro & Paiva 2018, "Novel audio features for music emotion
recognition", IEEE Trans. Affective Computing; 900 30-second MP3 clips from AllMusic in
folders Q1..Q4 by Russell quadrant) is for research use: this script reads it from --data and
skips with a message where it is absent; nothing of it is kept in the project but the fitted
numbers in tagger/audio/mood_model.json (--fit writes them).

Each clip goes through the audio stage's own path (PyAV decode, Silero speech segments,
librosa frame features, music/speech frames); the per-clip frames are cached under --cache
(outside the project) so later runs take seconds. Then, with folds grouped by artist (no
artist in both train and test) and stratified by quadrant, repeated over --seeds shuffles:
the four logistic regressions of tagger/audio/mood.py are fitted on the training clips and
the test clips scored exactly as the stage scores a span.

Reported, on cross-validated scores: pairwise accuracy within genre (over every pair of a
high- and a low-arousal clip that share a genre of the metadata's Genres field, the share in
which the high one scores higher; ties count half), the same for valence, and the same for a
naive baseline (z-scored loudness + onset rate + spectral centroid over all sounding frames).
"""
from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLE_RATE_HZ = 22050
HIGH_AROUSAL, POSITIVE_VALENCE = {"Q1", "Q2"}, {"Q1", "Q4"}
FRAME_FIELDS = ("rms_db", "onset_strength", "centroid_hz", "rolloff_hz", "flatness", "zcr", "chroma")
REGULARISATION_C = 1.0   # sklearn's default inverse L2 strength, on standardised inputs
MUSIC_INPUTS = ("level_spread_db", "flux_mean", "onset_rate_per_s", "centroid_octaves", "rolloff_octaves",
                "flatness_log10", "zero_crossing_rate", "mode_signed", "chroma_change")
# Speech is read for prosody only: key and chord change say nothing about a speaking voice.
SPEECH_INPUTS = ("level_spread_db", "flux_mean", "onset_rate_per_s", "centroid_octaves",
                 "rolloff_octaves", "flatness_log10", "zero_crossing_rate")


def read_clips(data: Path) -> list[dict]:
    """Song id, artist, quadrant, genres and MP3 path of each clip in the metadata."""
    with open(data / "panda_dataset_taffc_metadata.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    clips = []
    for row in rows:
        path = data / row["Quadrant"] / f"{row['Song']}.mp3"
        if path.is_file():
            clips.append({"song": row["Song"], "artist": row["Artist"], "quadrant": row["Quadrant"],
                          "genres": {g.strip() for g in row["GenresStr"].split(";") if g.strip()},
                          "path": path})
    return clips


def clip_frames(clip: dict, cache: Path, vad):
    """The clip's frame features with speech marks, from the cache or the stage's decode path."""
    from tagger.audio.features import FrameFeatures, mark_speech
    from tagger.stages.audio import decode_frames

    cached = cache / f"{clip['song']}.npz"
    if cached.is_file():
        z = np.load(cached)
        frames = FrameFeatures(SAMPLE_RATE_HZ, 512, z["rms_db"], z["onset"], z["centroid"], z["rolloff"],
                               z["flatness"], z["zcr"], z["chroma"].astype(np.float32))
        return mark_speech(frames, [tuple(s) for s in z["speech"]])
    frames = decode_frames(clip["path"], vad=vad, sample_rate_hz=SAMPLE_RATE_HZ, chunk_s=30.0)
    from tagger.audio.speech import mask_segments
    segments = np.array(mask_segments(frames.speech, hop_s=frames.hop_s), dtype=np.float64).reshape(-1, 2)
    np.savez(cached, rms_db=frames.rms_db, onset=frames.onset_strength, centroid=frames.centroid_hz,
             rolloff=frames.rolloff_hz, flatness=frames.flatness, zcr=frames.zcr,
             chroma=frames.chroma.astype(np.float16), speech=segments)
    return frames


def clip_inputs(frames) -> dict:
    """Per part (music, speech): seconds and every mood input; plus the naive baseline's cues."""
    from tagger.audio.features import loudness_db, onset_frames, silent_frames
    from tagger.audio.mood import MIN_MOOD_S, mood_inputs
    from tagger.audio.summary import sound_classes

    classes = sound_classes(frames)
    silent = silent_frames(frames.rms_db)
    onsets = onset_frames(frames, silent)
    out = {"parts": {}}
    for part, mask in (("music", classes.music), ("speech", classes.speech)):
        seconds = float(np.count_nonzero(mask)) * frames.hop_s
        if seconds >= MIN_MOOD_S:
            out["parts"][part] = (seconds, mood_inputs(frames, mask, onsets))
    sounding = ~silent
    out["naive"] = [loudness_db(frames.rms_db), len(onsets) / max(frames.duration_s, 1e-9),
                    float(np.mean(frames.centroid_hz[sounding])) if sounding.any() else 0.0]
    return out


def fit_model(clips: list[dict], inputs: list[dict], index: np.ndarray, version: str):
    """The four regressions fitted on the clips at ``index``, as a MoodModel."""
    from sklearn.linear_model import LogisticRegression

    from tagger.audio.mood import MOOD_PARTS, MOOD_TARGETS, Logistic, MoodModel

    models = {}
    for part in MOOD_PARTS:
        names = SPEECH_INPUTS if part == "speech" else MUSIC_INPUTS
        rows = [i for i in index if part in inputs[i]["parts"]]
        x = np.array([[inputs[i]["parts"][part][1][n] for n in names] for i in rows])
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        for target, high in zip(MOOD_TARGETS, (HIGH_AROUSAL, POSITIVE_VALENCE)):
            y = np.array([clips[i]["quadrant"] in high for i in rows], dtype=int)
            fitted = LogisticRegression(C=REGULARISATION_C, max_iter=2000).fit((x - mean) / scale, y)
            models[f"{part}_{target}"] = Logistic(names, mean, scale, fitted.coef_[0].copy(),
                                                  float(fitted.intercept_[0]))
    return MoodModel(version, models)


def pairwise_within_genre(clips: list[dict], scores: np.ndarray, high: set[str]) -> tuple[float, int]:
    """Share of (high, low) pairs sharing a genre where the high clip scores higher; pairs."""
    is_high = np.array([c["quadrant"] in high for c in clips])
    right = total = 0.0
    for i in np.flatnonzero(is_high):
        for j in np.flatnonzero(~is_high):
            if clips[i]["genres"] & clips[j]["genres"]:
                total += 1
                right += 1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0
    return (right / total if total else float("nan")), int(total)


def cross_validate(clips: list[dict], inputs: list[dict], *, folds: int, seeds: int) -> dict:
    from sklearn.model_selection import StratifiedGroupKFold

    from tagger.audio.mood import mood_from_inputs

    quadrants = [c["quadrant"] for c in clips]
    artists = [c["artist"] for c in clips]
    results = {"arousal": [], "valence": [], "arousal_accuracy": [], "valence_accuracy": []}
    first_scores = None
    for seed in range(seeds):
        scores = np.full((len(clips), 2), 0.5)
        split = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in split.split(np.zeros(len(clips)), quadrants, artists):
            model = fit_model(clips, inputs, train, "cv")
            for i in test:
                mood = mood_from_inputs(model, inputs[i]["parts"])
                if mood["arousal"] is not None:
                    scores[i] = mood["arousal"], mood["valence"]
        first_scores = scores if first_scores is None else first_scores
        for k, (target, high) in enumerate((("arousal", HIGH_AROUSAL), ("valence", POSITIVE_VALENCE))):
            results[target].append(pairwise_within_genre(clips, scores[:, k], high)[0])
            labels = np.array([q in high for q in quadrants])
            results[f"{target}_accuracy"].append(float(np.mean((scores[:, k] >= 0.5) == labels)))
    out = {name: (float(np.mean(v)), float(np.std(v))) for name, v in results.items()}
    out["scores"] = first_scores
    return out


def per_genre(clips: list[dict], scores: np.ndarray, *, min_clips: int = 40) -> list[tuple]:
    """(genre, clips, arousal pairwise accuracy, valence pairwise accuracy) for each genre with
    at least ``min_clips`` clips, pairs within that genre only."""
    from collections import Counter

    counts = Counter(g for c in clips for g in c["genres"])
    rows = []
    for genre, n in counts.most_common():
        if n < min_clips:
            break
        keep = [i for i, c in enumerate(clips) if genre in c["genres"]]
        sub = [{**clips[i], "genres": {genre}} for i in keep]
        rows.append((genre, n, pairwise_within_genre(sub, scores[keep, 0], HIGH_AROUSAL)[0],
                     pairwise_within_genre(sub, scores[keep, 1], POSITIVE_VALENCE)[0]))
    return rows


def naive_baseline(clips: list[dict], inputs: list[dict]) -> dict:
    x = np.array([inp["naive"] for inp in inputs])
    score = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)).sum(axis=1)
    return {"arousal": pairwise_within_genre(clips, score, HIGH_AROUSAL)[0],
            "valence": pairwise_within_genre(clips, score, POSITIVE_VALENCE)[0]}


def write_model(model, path: Path, note: dict) -> None:
    from tagger.audio.mood import MOOD_PARTS, MOOD_TARGETS

    models = {}
    for part in MOOD_PARTS:
        for target in MOOD_TARGETS:
            m = model.models[f"{part}_{target}"]
            models[f"{part}_{target}"] = {"inputs": list(m.inputs), "mean": _round(m.mean), "scale": _round(m.scale),
                                          "weight": _round(m.weight), "bias": round(m.bias, 6)}
    digest = hashlib.sha1(json.dumps(models, sort_keys=True).encode()).hexdigest()[:10]
    data = {"version": f"4q-logistic-{digest}", "note": note, "models": models}
    path.write_text(json.dumps(data, indent=1) + "\n")


def _round(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in a]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "data4q" / "MER_audio_taffc_dataset"),
                        help="the unpacked MER_audio_taffc_dataset folder (Q1..Q4 and the metadata CSV)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "tagger-4q"),
                        help="per-clip frame features (outside the project: they are the data set's)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5, help="shuffles of the grouped folds")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (a quick check)")
    parser.add_argument("--fit", action="store_true", help="fit on every clip and write tagger/audio/mood_model.json")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    data = Path(args.data)
    if not (data / "panda_dataset_taffc_metadata.csv").is_file():
        print(f"skipped: no 4Q data set at {data} (panda_dataset_taffc_metadata.csv absent); "
              "pass --data DIR/MER_audio_taffc_dataset")
        return 0
    from tagger.audio.speech import load_vad

    clips = read_clips(data)[: args.limit or None]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    vad = load_vad()
    started = time.perf_counter()
    inputs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k, clip in enumerate(clips):
            inputs.append(clip_inputs(clip_frames(clip, cache, vad)))
            if k % 100 == 99:
                print(f"  {k + 1}/{len(clips)} clips, {time.perf_counter() - started:.0f} s", flush=True)
    kept = [i for i, inp in enumerate(inputs) if inp["parts"]]
    clips, inputs = [clips[i] for i in kept], [inputs[i] for i in kept]

    cv = cross_validate(clips, inputs, folds=args.folds, seeds=args.seeds)
    naive = naive_baseline(clips, inputs)
    speech_parts = sum("speech" in inp["parts"] for inp in inputs)
    print(f"4Q: {len(clips)} clips, {len({c['artist'] for c in clips})} artists; speech frames (sung voice) "
          f"in {speech_parts}; {args.folds}-fold CV grouped by artist, {args.seeds} shuffles")
    print("| measure | fitted model (mean ± sd over shuffles) | naive loudness + onsets + brightness |")
    print("|---|---|---|")
    for target in ("arousal", "valence"):
        mean, sd = cv[target]
        print(f"| {target} pairwise accuracy within genre | {mean:.3f} ± {sd:.3f} | {naive[target]:.3f} |")
        mean, sd = cv[f"{target}_accuracy"]
        print(f"| {target} high/low accuracy at 0.5 | {mean:.3f} ± {sd:.3f} | |")
    genres = per_genre(clips, cv.pop("scores"))
    print("\n| genre (first shuffle) | clips | arousal pairwise | valence pairwise |\n|---|---|---|---|")
    for genre, n, arousal, valence in genres:
        print(f"| {genre} | {n} | {arousal:.3f} | {valence:.3f} |".replace("nan", "no pairs"))
    results = {"clips": len(clips), "cv": cv, "naive": naive, "per_genre": genres}
    if args.fit:
        note = {"made_by": "python benchmarks/audio_mood.py --fit --data .../MER_audio_taffc_dataset",
                "date": datetime.date.today().isoformat(),
                "data_set": "4Q music emotion set, Panda, Malheiro & Paiva (2018), 'Novel audio features for "
                            "music emotion recognition', IEEE Transactions on Affective Computing; research use; "
                            "only these fitted numbers are shipped",
                "labels": "arousal: Q1, Q2 high; valence: Q1, Q4 positive",
                "model": f"logistic regression (sklearn, L2, C={REGULARISATION_C}) on inputs standardised by "
                         "mean and scale; music_* on a clip's music frames, speech_* on its speech frames "
                         "(the sung voice); a span's estimate is their mean weighted by seconds",
                "features": {"music": list(MUSIC_INPUTS), "speech": list(SPEECH_INPUTS),
                             "defined_in": "tagger/audio/mood.py INPUTS (units in the names)"},
                "clips": len(clips),
                "cv": f"{args.folds}-fold grouped by artist, stratified by quadrant, {args.seeds} shuffles",
                "cv_scores": {k: round(v[0], 3) for k, v in cv.items()},
                "naive_baseline": {k: round(v, 3) for k, v in naive.items()}}
        path = ROOT / "tagger" / "audio" / "mood_model.json"
        write_model(fit_model(clips, inputs, np.arange(len(clips)), "fit"), path, note)
        print(f"wrote {path}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
