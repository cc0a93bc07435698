"""Support tickets: the queue, the 24-hour targets, goodwill points and support KPIs."""
