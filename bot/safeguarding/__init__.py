"""Safeguarding: spot answers that disclose harm or risk so the named lead can act."""
from bot.safeguarding.detector import Detection, Detector, detect, get_detector

__all__ = ["Detection", "Detector", "detect", "get_detector"]
