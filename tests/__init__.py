"""Coproduce test suite."""
