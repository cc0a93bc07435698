"""Customer feedback: surveys, reviews and the analysis of their text."""
