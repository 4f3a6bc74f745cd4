"""The accessible web chat: an aiohttp app that shows the conversation and talks to Rasa for the page."""
from bot.web.app import build_web_app

__all__ = ["build_web_app"]
