"""China Customs cross-border e-commerce (CEB) messages.

* :mod:`.spec` — message types, field order and XSD-derived field constraints;
* :mod:`.parse` — hardened parsing of untrusted bytes (BOMs, GB encodings, UTF-16, no DTDs);
* :mod:`.dxp` — the ``DxpMsg`` transport envelope (unwrap and wrap);
* :mod:`.xml` — ``read_message`` / ``write_message`` and the ``Record``/``Message`` types;
* :mod:`.validate` — ``validate_record`` / ``validate_message``: Chinese problem reports.
"""
