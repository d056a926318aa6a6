"""Turning a caption into something worth listening to.

The caption Space writes long prompt-style prose ("A detailed photograph of ..., in the
style of ..."). The person waiting wants the gist first, so the caption is cleaned of
markup, cut to a few sentences and a length limit, and split into sentence-sized chunks
so the first one can play while the next is synthesized.
"""

from __future__ import annotations

import re

# Abbreviations that end in a full stop but do not end a sentence.
_ABBREVIATIONS = {"e.g.", "i.e.", "mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "etc.", "approx.",
                  "no.", "fig."}
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_TAGS = re.compile(r"<[^<>]{1,40}>")
_MARKUP = re.compile(r"[*_`#|~]+|^\s*>+", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-•*+]|\d+[.)])\s+", re.MULTILINE)
# Preambles a chat model puts before the description; they carry nothing for the listener.
_PREAMBLE = re.compile(
    r"^(?:sure|certainly|of course|okay|ok)[!,.]?\s+.*?(?:description|prompt)[^:]*:\s*"
    r"|^(?:here is|here's) (?:a |the )?(?:detailed )?(?:description|prompt)[^:]*:\s*",
    re.IGNORECASE)


def clean(caption: str) -> str:
    """Remove markdown, bullets, chatty preambles and extra white space."""
    text = _BULLET.sub("", caption)
    text = _TAGS.sub("", text)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split())
    text = _PREAMBLE.sub("", text)
    return text.strip(" \"'")


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping abbreviations such as "e.g." inside them."""
    parts = _SENTENCE_END.split(text.strip())
    merged: list[str] = []
    for part in parts:
        if not part:
            continue
        if merged and merged[-1].split()[-1].lower() in _ABBREVIATIONS:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def shorten(text: str, max_sentences: int, max_chars: int) -> str:
    """The first ``max_sentences`` sentences (0 = all) that fit in ``max_chars``.

    Whole sentences are kept when at least one fits; a first sentence longer than the
    limit is cut at a word.
    """
    said = sentences(text)
    if max_sentences:
        said = said[:max_sentences]
    out = ""
    for sentence in said:
        joined = f"{out} {sentence}" if out else sentence
        if len(joined) > max_chars:
            break
        out = joined
    if out or not said:
        return out
    words = said[0][:max_chars + 1].rsplit(" ", 1)[0] if " " in said[0][:max_chars + 1] \
        else said[0][:max_chars - 1]
    return words.rstrip(",;:- ") + "."


def for_listening(caption: str, max_sentences: int, max_chars: int) -> str:
    """Clean and shorten a caption for speaking."""
    return shorten(clean(caption), max_sentences, max_chars)


def chunks(text: str, max_chars: int) -> list[str]:
    """Sentence-sized pieces of at most ``max_chars`` characters.

    The first piece is always a single sentence (or less) so that the first sound comes as
    early as possible; later pieces gather sentences up to the limit, which keeps the
    number of remote calls down.
    """
    pieces: list[str] = []
    for sentence in sentences(text):
        for part in _split_long(sentence, max_chars):
            if len(pieces) > 1 and len(pieces[-1]) + 1 + len(part) <= max_chars:
                pieces[-1] = f"{pieces[-1]} {part}"
            else:
                pieces.append(part)
    return pieces


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    out: list[str] = []
    current = ""
    # Prefer to break after a comma or semicolon, where a speaker would pause anyway.
    for clause in re.split(r"(?<=[,;:])\s+", sentence):
        for word in clause.split(" ") if len(clause) > max_chars else [clause]:
            joined = f"{current} {word}" if current else word
            if len(joined) <= max_chars:
                current = joined
            else:
                if current:
                    out.append(current)
                current = word[:max_chars]
    if current:
        out.append(current)
    return out
