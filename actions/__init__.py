"""Rasa SDK custom actions: thin steps that read slots, call one service and utter a response."""

import os as _os
import threading as _threading

if _os.environ.get("COPRODUCE_WARM_UP") == "1":  # set by bot.servers for the action server only
    from bot.app import warm_up as _warm_up

    _threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
