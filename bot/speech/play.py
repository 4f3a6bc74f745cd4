"""Play a message's audio in the terminal chat, or give its path where there is no sound device."""
from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

log = logging.getLogger(__name__)

SOUND_DEVICES = Path("/dev/snd")


def find_player(devices: Path = SOUND_DEVICES) -> Optional[List[str]]:
    """The command that plays a WAV from stdin on this machine, or None without a sound device."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    pulse = os.environ.get("PULSE_SERVER") or (runtime and Path(runtime, "pulse", "native").exists())
    if pulse and shutil.which("paplay"):
        return ["paplay"]
    if not any(devices.glob("pcmC*p")):
        return None
    if shutil.which("aplay"):
        return ["aplay", "-q", "-"]
    if shutil.which("ffplay"):
        return ["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet", "-i", "-"]
    return None


def play_or_path(audio, *, devices: Path = SOUND_DEVICES) -> Optional[Path]:
    """Play the audio and return None, or return the file path when it cannot be played here."""
    player = find_player(devices)
    if player is None:
        return audio.mp3
    import soundfile

    samples, rate = soundfile.read(str(audio.ogg), dtype="int16")
    wav = io.BytesIO()
    soundfile.write(wav, samples, rate, format="WAV", subtype="PCM_16")
    try:
        subprocess.run(player, input=wav.getvalue(), check=True, capture_output=True,
                       timeout=len(samples) / rate + 10)
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("Could not play audio with %s: %s", player[0], error)
        return audio.mp3
    return None
