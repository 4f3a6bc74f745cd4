"""BERT's uncased WordPiece tokenizer in plain Python, matching Hugging Face's BertTokenizer."""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Dict, List

CLS_ID = 101
SEP_ID = 102
UNK_TOKEN = "[UNK]"
# Longer "words" (a run of letters with no space) become one unknown token, as in BERT.
MAX_WORD_CHARS = 100


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT counts every non-alphanumeric ASCII symbol ($, ^, `) as punctuation too.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F
    )


class WordPieceTokenizer:
    """Split text into the word-piece ids of an uncased BERT vocabulary (vocab.txt)."""

    def __init__(self, vocab: Dict[str, int]):
        self.vocab = vocab
        self.unk_id = vocab[UNK_TOKEN]
        self._word_cache: Dict[str, List[int]] = {}
        self._token_cache: Dict[str, List[int]] = {}

    @classmethod
    def from_file(cls, vocab_path: Path) -> "WordPieceTokenizer":
        """Read a vocab.txt file: one token a line, the line number is its id."""
        with open(vocab_path, encoding="utf-8") as handle:
            vocab = {line.rstrip("\n"): index for index, line in enumerate(handle)}
        return cls(vocab)

    def words(self, text: str) -> List[str]:
        """Clean, lower-case, strip accents and split on spaces and punctuation."""
        cleaned = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD:
                continue
            category = unicodedata.category(char)
            if char in " \t\n\r" or category == "Zs":
                cleaned.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif _is_cjk(code):
                cleaned.append(f" {char} ")
            else:
                cleaned.append(char)
        text = unicodedata.normalize("NFD", "".join(cleaned).lower())
        text = "".join(char for char in text if unicodedata.category(char) != "Mn")
        words: List[str] = []
        for chunk in text.split():
            current: List[str] = []
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(char)
                else:
                    current.append(char)
            if current:
                words.append("".join(current))
        return words

    def word_ids(self, word: str) -> List[int]:
        """The word-piece ids of one word (greedy longest match first)."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        ids: List[int] = []
        if len(word) > MAX_WORD_CHARS:
            ids = [self.unk_id]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                piece_id = None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    piece_id = self.vocab.get(piece)
                    if piece_id is not None:
                        break
                    end -= 1
                if piece_id is None:
                    ids = [self.unk_id]
                    break
                ids.append(piece_id)
                start = end
        if len(self._word_cache) > 200_000:
            self._word_cache.clear()
        self._word_cache[word] = ids
        return ids

    def encode(self, text: str, max_pieces: int = 10_000) -> List[int]:
        """Word-piece ids of the text without [CLS]/[SEP], at most max_pieces of them."""
        ids: List[int] = []
        # Each space-separated token is cleaned and split on its own and remembered: answers
        # repeat words a lot, and the character-by-character clean-up is the slow part.
        for token in text.split():
            pieces = self._token_cache.get(token)
            if pieces is None:
                pieces = [piece for word in self.words(token) for piece in self.word_ids(word)]
                if len(self._token_cache) > 200_000:
                    self._token_cache.clear()
                self._token_cache[token] = pieces
            ids.extend(pieces)
            if len(ids) >= max_pieces:
                return ids[:max_pieces]
        return ids
