"""Turn raw speech samples into the files we serve: OGG/Opus for Telegram, MP3 for the web."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from math import gcd
from typing import Optional, Tuple

import numpy as np

log = logging.getLogger(__name__)

# Opus only runs at these rates; 24 kHz keeps speech clear and files small.
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
OPUS_RATE = 24000
# libsndfile has crashed on very large single OGG writes; small blocks avoid it.
BLOCK_FRAMES = 24000


@dataclass(frozen=True)
class Sound:
    """Mono speech from an engine: float32 samples in [-1, 1], plus the engine's own MP3 if it made one."""

    samples: np.ndarray
    sample_rate: int
    mp3: Optional[bytes] = None

    @property
    def seconds(self) -> float:
        """Length of the sound in seconds."""
        return len(self.samples) / float(self.sample_rate)


def decode(data: bytes) -> Tuple[np.ndarray, int]:
    """Decode audio bytes (WAV, MP3, OGG) into mono float32 samples and their rate."""
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.mean(axis=1).astype(np.float32), int(rate)


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample mono samples from one rate to another."""
    if source_rate == target_rate:
        return samples
    from scipy.signal import resample_poly

    common = gcd(source_rate, target_rate)
    out = resample_poly(samples, target_rate // common, source_rate // common)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def to_ogg_opus(sound: Sound) -> bytes:
    """Encode a sound as OGG/Opus, the format Telegram needs for voice notes."""
    rate = sound.sample_rate if sound.sample_rate in OPUS_RATES else OPUS_RATE
    return _encode(resample(sound.samples, sound.sample_rate, rate), rate, "OGG", "OPUS")


def to_mp3(sound: Sound) -> bytes:
    """Encode a sound as MP3 for the web chat, reusing the engine's own MP3 when there is one."""
    if sound.mp3:
        return sound.mp3
    return _encode(sound.samples, sound.sample_rate, "MP3", "MPEG_LAYER_III")


def _encode(samples: np.ndarray, rate: int, container: str, subtype: str) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    with soundfile.SoundFile(
        buffer, mode="w", samplerate=rate, channels=1, format=container, subtype=subtype
    ) as out:
        for start in range(0, len(samples), BLOCK_FRAMES):
            out.write(samples[start : start + BLOCK_FRAMES])
    return buffer.getvalue()
