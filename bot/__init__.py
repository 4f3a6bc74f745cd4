"""Coproduce: an accessible co-production chatbot built on Rasa."""
