"""Example program files shipped with Patron (read with ``importlib.resources``)."""
