"""Speech for bot messages: engines, cache and service; importing this loads no model."""
from bot.speech.play import play_or_path
from bot.speech.service import Audio, SpeechService, build_speech_service
from bot.speech.warm import WarmCounts, warm_domain

__all__ = ["Audio", "SpeechService", "WarmCounts", "build_speech_service", "play_or_path", "warm_domain"]
