"""A title's data in readable form for the title page: evidence with jump times, palette,
pacing line, audio mood. Plain data out; the templates do the markup (and the escaping)."""
from __future__ import annotations

import re

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
PACING_WIDTH, PACING_HEIGHT = 300, 40   # the pacing line's SVG box, in px


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def evidence_time(evidence: dict, scenes: list[dict]) -> float | None:
    """Where the player should jump for a piece of evidence: a subtitle cue's own start, else
    the scene's start, else the evidence's own start; None for whole-title evidence."""
    if evidence.get("source") == "subtitles" and evidence.get("start_s") is not None:
        return evidence["start_s"]
    scene = evidence.get("scene")
    if scene is not None and 0 <= scene < len(scenes):
        return scenes[scene]["start_s"]
    return evidence.get("start_s") if evidence.get("source") != "synopsis" else None


def evidence_text(evidence: dict) -> str:
    score = f"{evidence.get('score', 0):.2f}"
    if evidence.get("feature"):
        value = evidence.get("value")
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        return f"{evidence['feature']} = {shown} ({score})"
    if evidence.get("cue"):
        return f"{evidence.get('source', evidence['modality'])}: “{evidence['cue']}” ({score})"
    if evidence.get("source") == "child":
        return f"child tag {evidence.get('value')} ({score})"
    seen = f": {evidence['value']}" if evidence.get("value") else ""   # e.g. the ImageNet class in a keyframe
    return f"{evidence['modality']} {evidence.get('source', '')}{seen} ({score})".strip()


def tag_view(tag: dict, scenes: list[dict]) -> dict:
    return {**tag, "evidence_view": [{"text": evidence_text(e), "time_s": evidence_time(e, scenes),
                                      "modality": e.get("modality", "")} for e in tag["evidence"]]}


def palette(visual: dict) -> list[dict]:
    """Swatches side by side (offset: where each starts, in percent); only well-formed #rrggbb
    colours reach an SVG fill."""
    swatches, offset = [], 0
    for p in visual.get("palette") or []:
        if _HEX.match(str(p.get("hex", ""))):
            percent = round(100 * float(p.get("share", 0)))
            swatches.append({"hex": p["hex"], "percent": percent, "offset": offset})
            offset += percent
    return swatches


def pacing(visual: dict, scenes: list[dict]) -> dict | None:
    """Cuts per minute in words, and an SVG polyline of scene lengths along the title."""
    if not scenes:
        return None
    lengths_s = [s["end_s"] - s["start_s"] for s in scenes]
    longest_s = max(lengths_s) or 1.0
    step = PACING_WIDTH / max(1, len(lengths_s) - 1)
    points = " ".join(f"{i * step:.1f},{PACING_HEIGHT - 2 - (PACING_HEIGHT - 4) * length / longest_s:.1f}"
                      for i, length in enumerate(lengths_s))
    cuts = visual.get("cuts_per_minute")
    words = None if cuts is None else ("fast cutting" if cuts > 20 else "slow, long takes" if cuts < 8 else
                                       "moderate cutting")
    return {"cuts_per_minute": cuts, "median_shot_s": visual.get("median_shot_s"), "words": words,
            "points": points, "width": PACING_WIDTH, "height": PACING_HEIGHT, "longest_s": longest_s}


def audio_mood(audio: dict) -> dict | None:
    """Arousal and valence (0..1, 0.5 neutral) as one of four moods, with tempo, key and loudness."""
    if audio.get("arousal") is None or audio.get("valence") is None:   # None: a silent title
        return None
    high_arousal, high_valence = audio["arousal"] >= 0.5, audio["valence"] >= 0.5
    words = {(True, True): "energetic, upbeat", (True, False): "tense, agitated",
             (False, True): "calm, warm", (False, False): "sombre, subdued"}[(high_arousal, high_valence)]
    return {"words": words, "arousal": audio["arousal"], "valence": audio["valence"],
            "tempo_bpm": audio.get("tempo_bpm"), "key": audio.get("key"), "mode": audio.get("mode"),
            "loudness_db": audio.get("loudness_db")}


def group_by_facet(tags: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for tag in sorted(tags, key=lambda t: (t["facet"], -t["confidence"])):
        groups.setdefault(tag["facet"], []).append(tag)
    return groups
