"""The Telegram transport: updates in, Rasa's replies out (text, buttons and voice notes)."""
