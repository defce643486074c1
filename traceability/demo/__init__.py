"""The demo world: generator, local opinion site and ``qtrace demo``.

Production code never imports it (an import-linter contract holds this).
"""
