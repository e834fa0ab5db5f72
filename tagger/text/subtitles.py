"""Subtitle files (SubRip .srt, WebVTT .vtt) read into a list of timed cues.

Real-world subtitle files are messy, so the parser is lenient where a reader would still
understand the file (missing or wrong cue numbers, missing blank lines, stray blank lines,
comma or dot before the milliseconds, 1-3 digit hours, mm:ss.ttt without hours, cue settings,
VTT headers, identifiers and NOTE/STYLE/REGION blocks, a WEBVTT file named .srt) and strict
where the timing is ambiguous: a timing line that does not parse, or a cue that ends before it
starts, raises InputError with the file, the line number and the offending text. A file with
no cue at all (random bytes, a wrong file renamed .srt) is an error too, not a title without
dialogue; a cue's text is clipped at MAX_CUE_CHARS, so one huge line cannot stall the title.
"""
from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tagger.errors import InputError

log = logging.getLogger(__name__)

# Real cues are a line or two; past this a "cue" is a broken or hostile file, and embedding
# megabytes of it would cost seconds per title.
MAX_CUE_CHARS = 1000

__all__ = [
    "Cue",
    "decode_subtitle_bytes",
    "parse_srt",
    "parse_vtt",
    "read_subtitles",
    "subtitle_language",
]


@dataclass(frozen=True)
class Cue:
    """One subtitle cue.

    start_s, end_s: seconds from the start of the title (end_s >= start_s).
    text: plain text, markup removed and entities unescaped, lines joined with "\\n".
    line: 1-based line number of the cue's timing line in the file.
    """

    start_s: float
    end_s: float
    text: str
    line: int


# --------------------------------------------------------------------------- decoding

_BOMS: tuple[tuple[bytes, str], ...] = (
    # utf-32 first: the utf-32-le BOM starts with the utf-16-le BOM
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _guess_wide_encoding(data: bytes) -> str | None:
    """utf-16/utf-32 without a BOM, from where the NUL bytes fall; None when not wide.

    Subtitle files are mostly ASCII digits and punctuation, so in a wide encoding the high
    bytes of most code units are NUL and sit at fixed positions.
    """
    if b"\x00" not in data or len(data) < 4:
        return None
    n4 = len(data) - len(data) % 4
    if n4:
        quads = n4 // 4
        le32 = sum(1 for i in range(0, n4, 4) if data[i + 1:i + 4] == b"\x00\x00\x00")
        be32 = sum(1 for i in range(0, n4, 4) if data[i:i + 3] == b"\x00\x00\x00")
        if le32 >= 0.5 * quads:
            return "utf-32-le"
        if be32 >= 0.5 * quads:
            return "utf-32-be"
    n2 = len(data) - len(data) % 2
    half = n2 // 2
    even_nul = data[0:n2:2].count(0)
    odd_nul = data[1:n2:2].count(0)
    if odd_nul >= 0.25 * half and odd_nul > 4 * even_nul:
        return "utf-16-le"
    if even_nul >= 0.25 * half and even_nul > 4 * odd_nul:
        return "utf-16-be"
    return None


def decode_subtitle_bytes(data: bytes, *, path: str | Path = "<bytes>") -> str:
    """Decode a subtitle file's bytes to text with "\\n" line ends; never fails on encoding.

    Order: a BOM (utf-8, utf-16 le/be, utf-32 le/be), then utf-16/32 without a BOM when the
    NUL bytes say so (checked before utf-8 because ASCII in utf-16 is also valid utf-8),
    then strict utf-8, then cp1252 (common for old Western .srt files), then latin-1, which
    accepts any byte. ``path`` is accepted for symmetry with the parsers and error messages.
    """
    del path  # decoding never raises, so the path is not needed for messages
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(encoding, errors="replace")
            break
    if text is None:
        wide = _guess_wide_encoding(data)
        if wide is not None:
            text = data.decode(wide, errors="replace")
    if text is None:
        for encoding in ("utf-8", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        text = data.decode("latin-1")
    # a second BOM (files converted twice) and NULs are never content
    text = text.lstrip("\ufeff").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- timing

# h:mm:ss,ttt / h:mm:ss.ttt (hours 1-3 digits), mm:ss.ttt, h:mm:ss; fraction is decimal
_TIMESTAMP_RE = re.compile(
    r"(?:(?P<h>\d{1,3}):)?(?P<m>\d{1,2}):(?P<s>\d{1,2})(?:[.,](?P<f>\d{1,3}))?"
)
_TIMING_RE = re.compile(
    r"(?P<a>[0-9:.,]+)\s*-{1,2}>\s*(?P<b>[0-9:.,]+)(?P<rest>\s.*)?"
)
# a line that starts like a timestamp: at the start of a block it is meant as a timing line
_TIMESTAMPISH_RE = re.compile(r"\d{1,3}:\d{1,2}[:.,]\d")
_TIMING_HINT = "expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm'"


def _parse_timestamp(token: str) -> float | None:
    """Seconds for one timestamp, or None when it is not one we can read unambiguously."""
    m = _TIMESTAMP_RE.fullmatch(token)
    if m is None:
        return None
    if m["h"] is None and m["f"] is None:
        return None  # "01:02" could be h:mm or mm:ss
    hours = int(m["h"] or 0)
    minutes, seconds = int(m["m"]), int(m["s"])
    if minutes >= 60 or seconds >= 60:
        return None
    millis = int((m["f"] or "0").ljust(3, "0"))  # ",5" is half a second, as a reader sees it
    # integer milliseconds first so that 1.1 + 0.2 style float error cannot creep in
    return (((hours * 60 + minutes) * 60 + seconds) * 1000 + millis) / 1000.0


def _parse_timing(line: str, *, path: str | Path, lineno: int) -> tuple[float, float]:
    m = _TIMING_RE.fullmatch(line)
    if m is None:
        raise InputError(path, f"malformed timing line {line!r}: {_TIMING_HINT}", line=lineno)
    start = _parse_timestamp(m["a"])
    end = _parse_timestamp(m["b"])
    if start is None or end is None:
        bad = m["a"] if start is None else m["b"]
        raise InputError(path, f"malformed timestamp {bad!r} in timing line {line!r}: "
                         f"{_TIMING_HINT}", line=lineno)
    if end < start:
        raise InputError(path, f"cue ends before it starts in timing line {line!r} "
                         f"({end:.3f} s < {start:.3f} s)", line=lineno)
    return start, end


# --------------------------------------------------------------------------- text clean-up

_TAG_RE = re.compile(
    r"</?\s*[A-Za-z][^<>]*>"          # <i>, </b>, <font color="red">, <c.yellow>, <v Name>
    r"|<\d{1,3}(?::\d{1,2}){1,2}[.,]\d{1,3}>"  # VTT karaoke timestamps <00:00:01.000>
)
_ASS_RE = re.compile(r"\{\\[^{}]*\}")  # {\an8}, {\i1}, {\c&H00FF00&}
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0]+")


def _clean_text(lines: list[str]) -> str:
    """Plain text from cue payload lines: markup removed, entities unescaped, blanks dropped."""
    out: list[str] = []
    for raw in lines:
        # ASS hard line breaks sometimes leak into .srt files
        for part in raw.replace("\\N", "\n").replace("\\n", "\n").split("\n"):
            part = _ASS_RE.sub("", part)
            part = _TAG_RE.sub("", part)
            part = html.unescape(part)  # after tag removal so "&lt;i&gt;" stays as text
            part = _SPACES_RE.sub(" ", part).strip()
            if part:
                out.append(part)
    return "\n".join(out)


# --------------------------------------------------------------------------- parsing

_VTT_BLOCK_RE = re.compile(r"(NOTE|STYLE|REGION)(\s|$)")


@dataclass
class _Pending:
    start_s: float
    end_s: float
    line: int
    # (text, was at the start of a block) for each line after the timing line
    body: list[tuple[str, bool]]


def _strip_identifier(body: list[tuple[str, bool]], *, in_preamble: bool) -> None:
    """Drop the cue number / VTT identifier that sits right above a timing line.

    It is the last line collected so far when it is a bare number, or when it starts a
    block (blank line above it): that is the slot a reader sees as the cue's label. A bare
    number with stray blank lines below it is a label too, unless it is the cue's only text.
    """
    if body and body[-1][0]:
        text, at_block_start = body[-1]
        if text.isdigit() or at_block_start:
            body.pop()
        return
    filled = [i for i, (text, _) in enumerate(body) if text]
    if filled and body[filled[-1]][0].isdigit() and (in_preamble or len(filled) > 1):
        del body[filled[-1]]


def _parse(text: str, *, path: str | Path, vtt: bool) -> list[Cue]:
    lines = text.lstrip("\ufeff").split("\n")
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.startswith("WEBVTT"):
        vtt = True  # a WebVTT file named .srt is still readable
    pending: list[_Pending] = []
    preamble: list[tuple[str, bool]] = []  # lines before the first timing line (ignored)
    in_header = vtt and lines[0].strip().startswith("WEBVTT")
    skipping = False  # inside a VTT NOTE / STYLE / REGION block
    at_block_start = True  # first line of the file or after a blank line
    after_label = False  # the line above started a block: this one may be its timing line
    for lineno, raw in enumerate(lines, start=1):
        s = raw.strip()
        body = pending[-1].body if pending else preamble
        if not s:
            in_header = skipping = after_label = False
            at_block_start = True
            body.append(("", False))
            continue
        timing_slot = at_block_start or after_label
        # a timestamp-like line where a timing line belongs is meant as one, arrow or not
        is_timing = "-->" in s or (timing_slot and _TIMESTAMPISH_RE.match(s) is not None)
        if in_header and not is_timing:
            continue  # "WEBVTT - title", "Kind: captions", "Language: en"
        if vtt and at_block_start and not is_timing and _VTT_BLOCK_RE.match(s):
            skipping = True
        if skipping and not is_timing:
            at_block_start = after_label = False
            continue
        in_header = skipping = False
        if is_timing:
            start, end = _parse_timing(s, path=path, lineno=lineno)
            _strip_identifier(body, in_preamble=not pending)
            pending.append(_Pending(start, end, lineno, []))
            at_block_start = after_label = False
            continue
        # a payload line, or a cue number / identifier not yet known to be one
        body.append((s, at_block_start))
        after_label = at_block_start
        at_block_start = False
    cues = []
    for p in pending:
        cue_text = _clean_text([t for t, _ in p.body if t])
        if len(cue_text) > MAX_CUE_CHARS:
            log.warning("%s:%d: cue text of %d characters clipped to %d", path, p.line, len(cue_text),
                        MAX_CUE_CHARS)
            cue_text = cue_text[:MAX_CUE_CHARS]
        if cue_text:  # empty cues (blank, or markup only) carry nothing to tag
            cues.append(Cue(p.start_s, p.end_s, cue_text, p.line))
    cues.sort(key=lambda c: c.start_s)  # stable: overlapping cues keep their file order
    return cues


def parse_srt(text: str, *, path: str | Path = "<string>") -> list[Cue]:
    """Cues from SubRip text, sorted by start; [] when the text has no cues.

    Raises InputError(path, ..., line=N) for a malformed timing line or end < start.
    """
    return _parse(text, path=path, vtt=False)


def parse_vtt(text: str, *, path: str | Path = "<string>") -> list[Cue]:
    """Cues from WebVTT text, sorted by start; [] when the text has no cues.

    The WEBVTT header line is optional; header text, NOTE/STYLE/REGION blocks, cue
    identifiers and cue settings are skipped. Raises InputError like parse_srt.
    """
    return _parse(text, path=path, vtt=True)


def read_subtitles(path: str | Path) -> list[Cue]:
    """Read a .srt or .vtt file (any common encoding) into cues sorted by start.

    Raises InputError for an unsupported suffix, an unreadable file, malformed timing, or a
    file in which no cue can be found.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".srt", ".vtt"):
        raise InputError(path, f"unsupported subtitle format {path.suffix or '(no suffix)'!r}: "
                         "expected .srt or .vtt")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read subtitle file: {exc.strerror or exc}") from exc
    text = decode_subtitle_bytes(data, path=path)
    cues = _parse(text, path=path, vtt=suffix == ".vtt")
    if not cues:
        what = "the file is empty" if not text.strip() else "no timing line such as `00:00:01,000 --> 00:00:02,500`"
        raise InputError(path, f"no subtitle cues found ({what})")
    return cues


# --------------------------------------------------------------------------- language

# ISO 639-2 (bibliographic and terminology) -> ISO 639-1 for common subtitle languages
_ISO639_2_TO_1 = {
    "eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es",
    "ita": "it", "por": "pt", "dut": "nl", "nld": "nl", "rus": "ru", "jpn": "ja",
    "chi": "zh", "zho": "zh", "kor": "ko", "ara": "ar", "hin": "hi", "swe": "sv",
    "nor": "no", "nob": "nb", "nno": "nn", "dan": "da", "fin": "fi", "pol": "pl",
    "cze": "cs", "ces": "cs", "gre": "el", "ell": "el", "tur": "tr", "heb": "he",
    "hun": "hu", "rum": "ro", "ron": "ro", "ukr": "uk", "vie": "vi", "tha": "th",
    "ind": "id", "may": "ms", "msa": "ms", "cat": "ca", "hrv": "hr", "srp": "sr",
    "slo": "sk", "slk": "sk", "slv": "sl", "bul": "bg", "est": "et", "lav": "lv",
    "lit": "lt", "ice": "is", "isl": "is", "per": "fa", "fas": "fa", "ben": "bn",
    "tam": "ta", "tel": "te", "urd": "ur", "tgl": "tl", "baq": "eu", "eus": "eu",
    "glg": "gl", "wel": "cy", "cym": "cy", "gle": "ga", "afr": "af", "swa": "sw",
}
_ISO639_1 = frozenset(_ISO639_2_TO_1.values())
# "movie.en.forced.srt", "movie.en.sdh.srt": flags that are not the language
_FLAGS = {"forced", "sdh", "cc", "hi", "default", "full", "sub", "subs"}
# primary subtag all lower or all upper case ("The" in "Movie.The.srt" is not a language)
_LANG_RE = re.compile(r"([a-z]{2,3}|[A-Z]{2,3})(?:[-_]([A-Za-z]{4}|[A-Za-z]{2}|\d{3}))?")


def _normalise_language(tag: str) -> str | None:
    m = _LANG_RE.fullmatch(tag)
    if m is None:
        return None
    primary = m[1].lower()
    primary = _ISO639_2_TO_1.get(primary, primary)
    sub = m[2]
    if sub is None:
        return primary
    if len(sub) == 4:
        return f"{primary}-{sub.title()}"  # script: zh-Hant
    return f"{primary}-{sub.upper()}"  # region: pt-BR, es-419


def subtitle_language(path: str | Path) -> str | None:
    """Language code from the name part before .srt/.vtt, or None when there is none.

    "movie.en.srt" -> "en", "x.eng.srt" -> "en" (ISO 639-2 mapped to 639-1 for common
    languages, unknown codes kept), "movie.pt-BR.vtt" -> "pt-BR", "movie.srt" -> None.
    """
    name = Path(path).name
    parts = name.split(".")
    if len(parts) < 2 or parts[-1].lower() not in ("srt", "vtt"):
        return None
    candidates = parts[1:-1]  # parts[0] is the title
    for i in range(len(candidates) - 1, -1, -1):
        part = candidates[i]
        if part.lower() in _FLAGS:
            # "hi" is Hindi unless a language sits before it ("movie.en.hi.srt")
            earlier = any(_normalise_language(p) for p in candidates[:i]
                          if p.lower() not in _FLAGS)
            if part.lower() != "hi" or earlier:
                continue
        return _normalise_language(part)
    # "sintel-en.srt", "film_eng.srt": only codes we know, so "the_big_one.srt" stays None
    m = re.search(r"[-_]([A-Za-z]{2,3})$", parts[0]) if len(parts) == 2 else None
    if m is not None:
        code = m[1].lower()
        if code in _ISO639_2_TO_1 or code in _ISO639_1:
            return _ISO639_2_TO_1.get(code, code)
    return None
