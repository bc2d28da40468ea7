"""`carebot export` from the command line: it explains itself, exports, and says clearly
what is wrong with a directory or a format it cannot use."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from export_store import demo_engine, parquet_counts, store_counts

from bot.cli.main import main


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("cli")
    with demo_engine("sqlite", directory) as engine:
        return engine.url.render_as_string(hide_password=False)


def carebot(url: str, *args: str):
    env = {"CAREBOT_DATABASE_URL": url, "CAREBOT_MODELS_DIR": "models"}
    return CliRunner().invoke(main, ["--log-level", "WARNING", *args], env=env)


def test_help_says_what_is_written_and_how_it_stays_current(store_url):
    result = carebot(store_url, "export", "--help")
    assert result.exit_code == 0
    for words in ("--format", "date=YYYY-MM-DD", "redacted", "Incremental", "--full"):
        assert words in result.output


def test_export_writes_parquet_and_reports_rows_per_second(store_url, tmp_path):
    result = carebot(store_url, "export", "--format", "parquet", "--no-progress",
                     str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output and "messages" in result.output
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    try:
        assert parquet_counts(tmp_path / "out") == store_counts(engine)
    finally:
        engine.dispose()
    again = carebot(store_url, "export", "--no-progress", str(tmp_path / "out"))
    assert "Export 2" in again.output and " 0 rows in " in again.output


def test_an_unknown_format_is_refused_by_name(store_url, tmp_path):
    result = carebot(store_url, "export", "--format", "csv", str(tmp_path))
    assert result.exit_code == 2
    assert "'csv' is not" in result.output and "parquet" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("where", ["a-file", "a-file/below"])
def test_a_directory_that_cannot_be_written_is_a_clear_error(store_url, tmp_path, where):
    (tmp_path / "a-file").write_text("not a directory")
    result = carebot(store_url, "export", "--no-progress", str(tmp_path / where))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert str(tmp_path / where) in result.output
    assert "directory" in result.output
    assert (tmp_path / "a-file").read_text() == "not a directory"
