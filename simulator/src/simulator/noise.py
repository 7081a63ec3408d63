"""Noise: every fault of the spec's "What real extracts get wrong" section.

A :class:`Noise` draws from its own random stream and counts, per kind, how
many records were eligible and how many got the fault, so that the manifest
can say exactly what was injected and tests can compare rates.
"""

from __future__ import annotations

import random
from collections import defaultdict

import jaconv

from simulator.config import NoiseRates
from simulator.names import ITAIJI, ITAIJI_REVERSE

HYPHENS = ("‐", "−", "－", "ー", "ｰ")
_KANA_SWAPS = {"ジ": "ヂ", "ズ": "ヅ", "ブ": "ヴ", "ケ": "ヶ", "ヂ": "ジ", "ヅ": "ズ", "ヴ": "ブ", "ヶ": "ケ"}
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
_KANJI_TYPOS = {"裕": "祐", "浩": "博", "直": "真", "陽": "洋", "香": "佳", "美": "実", "太": "大", "和": "知",
                "智": "知", "翔": "祥", "健": "建", "康": "泰", "晃": "光", "亮": "良", "樹": "記"}


class Noise:
    def __init__(self, rates: NoiseRates, rng: random.Random) -> None:
        self.rates = rates
        self.rng = rng
        self.eligible: dict[str, int] = defaultdict(int)
        self.applied: dict[str, int] = defaultdict(int)

    def hit(self, kind: str) -> bool:
        """Count one eligible record for ``kind`` and decide whether it gets the fault."""
        self.eligible[kind] += 1
        if self.rng.random() < getattr(self.rates, kind):
            self.applied[kind] += 1
            return True
        return False

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    # --- width, kana, hyphens -------------------------------------------------------------
    def maybe_fullwidth(self, text: str) -> str:
        if not text or not any(c.isascii() and (c.isalnum() or c in " -") for c in text):
            return text
        return jaconv.h2z(text, kana=False, ascii=True, digit=True) if self.hit("fullwidth") else text

    def maybe_hyphens(self, text: str) -> str:
        if "-" not in text:
            return text
        return text.replace("-", self.choice(HYPHENS)) if self.hit("hyphen_variant") else text

    def kana_display(self, kana: str, allow_hiragana: bool, allow_halfwidth: bool) -> str:
        if allow_hiragana and self.hit("hiragana_for_katakana"):
            kana = jaconv.kata2hira(kana)
        elif allow_halfwidth and self.hit("halfwidth_kana"):
            kana = jaconv.z2h(kana, kana=True, ascii=True, digit=False)
        return kana

    def maybe_kana_variant(self, kana: str) -> str:
        idx = [i for i, c in enumerate(kana) if c in _KANA_SWAPS]
        if not idx or not self.hit("kana_variant"):
            return kana
        i = self.choice(idx)
        return kana[:i] + _KANA_SWAPS[kana[i]] + kana[i + 1:]

    # --- names --------------------------------------------------------------------------------
    def other_itaiji_form(self, kanji: str) -> str:
        """The name written with its variable character in the other form (異体字)."""
        out = []
        for c in kanji:
            if c in ITAIJI:
                out.append(self.choice(ITAIJI[c]))
            elif c in ITAIJI_REVERSE:
                out.append(ITAIJI_REVERSE[c])
            else:
                out.append(c)
        return "".join(out)

    def maybe_itaiji(self, kanji: str) -> str:
        if not any(c in ITAIJI or c in ITAIJI_REVERSE for c in kanji):
            return kanji
        return self.other_itaiji_form(kanji) if self.hit("itaiji") else kanji

    def spaced(self, sur: str, given: str, default_sep: str) -> str:
        if self.hit("spacing_variant"):
            sep = self.choice([s for s in ("", " ", "　") if s != default_sep])
            return sur + sep + given
        return sur + default_sep + given

    def maybe_typo_kanji(self, given: str) -> str:
        idx = [i for i, c in enumerate(given) if c in _KANJI_TYPOS]
        if not idx or not self.hit("typo"):
            return given
        i = self.choice(idx)
        return given[:i] + _KANJI_TYPOS[given[i]] + given[i + 1:]

    def maybe_typo_kana(self, kana: str) -> str:
        if len(kana) < 3 or not self.hit("typo"):
            return kana
        i = self.rng.randrange(1, len(kana))
        return kana[:i] + self.choice(_KATAKANA) + kana[i + 1:]

    # --- digits -------------------------------------------------------------------------------
    def transpose_or_mistype(self, digits: str, valid) -> str:
        """A hand-typing error that the check digit catches (transposition or one wrong digit)."""
        for _ in range(20):
            s = list(digits)
            if self.rng.random() < 0.6:
                i = self.rng.randrange(len(s) - 1)
                s[i], s[i + 1] = s[i + 1], s[i]
            else:
                i = self.rng.randrange(len(s))
                s[i] = str((int(s[i]) + self.rng.randrange(1, 10)) % 10)
            out = "".join(s)
            if out != digits and not valid(out):
                return out
        # fall back: change the check digit itself
        last = str((int(digits[-1]) + 1) % 10)
        return digits[:-1] + last if not valid(digits[:-1] + last) else digits[:-1] + str((int(digits[-1]) + 2) % 10)
