"""Test helpers shared by several test modules."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
