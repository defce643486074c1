"""Settings: the packaged defaults in default.toml, read by :mod:`config.settings`."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
