"""Rasa SDK custom actions: thin steps that read slots, call one service and utter a response."""
