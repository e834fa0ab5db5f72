"""The command line's own behaviour: what -v turns on."""
import logging

from click.testing import CliRunner

from tagger.cli import cli


def test_verbose_raises_taggers_loggers_only(tmp_path):
    root_level = logging.getLogger().level
    try:
        result = CliRunner().invoke(cli, ["-v", "list", "--catalog", str(tmp_path / "c.db")])
        assert result.exit_code == 0, result.output
        assert logging.getLogger("tagger.ingest").isEnabledFor(logging.DEBUG)
        # numba's bytecode dump and other libraries' debug logs stay off
        assert not logging.getLogger("numba.core.byteflow").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("PIL").isEnabledFor(logging.DEBUG)
        result = CliRunner().invoke(cli, ["list", "--catalog", str(tmp_path / "c.db")])
        assert not logging.getLogger("tagger.ingest").isEnabledFor(logging.DEBUG)
    finally:
        logging.getLogger().setLevel(root_level)
        logging.getLogger("tagger").setLevel(logging.NOTSET)
