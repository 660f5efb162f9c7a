"""Core command modules; each defines ``register(cli)``."""
