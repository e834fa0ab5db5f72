"""The inline executor (titles analysed in this process) against the executors' shared contract."""
import pytest

from executor_contract import ExecutorContract, Harness


class TestInlineContract(ExecutorContract):
    @pytest.fixture
    def harness(self):
        return Harness("inline")
