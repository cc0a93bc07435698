"""Bonus points, awarded one way: :func:`patron.awards.service.award`."""
