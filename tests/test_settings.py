from __future__ import annotations

from pathlib import Path

import pytest

from config import SettingsError, load_settings


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    assert load_settings(environ={}).trace.max_depth == 12
    site = tmp_path / "site.toml"
    site.write_text('data_dir = "/srv/qtrace"\n[trace]\nmax_depth = 6\n', encoding="utf-8")
    from_file = load_settings(site, environ={})
    assert from_file.trace.max_depth == 6 and from_file.data_dir == Path("/srv/qtrace")
    assert from_file.trace.max_nodes == 5000  # untouched defaults survive
    env = {"QTRACE_TRACE__MAX_DEPTH": "4", "QTRACE_DATA_DIR": "/tmp/q"}
    both = load_settings(site, environ=env)
    assert both.trace.max_depth == 4 and both.data_dir == Path("/tmp/q")
    assert load_settings(environ={"QTRACE_CONFIG": str(site)}).trace.max_depth == 6
    assert both.resolved_graph_url == "sqlite:////tmp/q/qtrace.db"


def test_limits_in_force_follow_the_dates() -> None:
    import datetime as dt

    limits = load_settings(environ={}).limits
    assert str(limits.in_force(dt.date(2018, 6, 1)).single_transaction) == "2000"
    assert str(limits.in_force(dt.date(2019, 1, 1)).annual_per_person) == "26000"


@pytest.mark.parametrize(
    "env",
    [{"QTRACE_TRACE__MAX_DEPTH": "deep"}, {"QTRACE_WEB__PORT": "0"}, {"QTRACE_NOPE__X": "1"}],
)
def test_invalid_values_name_the_setting(env: dict[str, str]) -> None:
    if "NOPE" in next(iter(env)):
        assert load_settings(environ=env).trace.max_depth == 12  # unrelated variables ignored
        return
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert next(iter(env)).split("__")[-1].lower() in str(caught.value)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="不存在"):
        load_settings(tmp_path / "none.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[trace\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="TOML"):
        load_settings(broken, environ={})
