"""One torch thread for the evaluation tests: their networks are tiny, and on a shared CPU
two spinning threads per process cost far more than they bring."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
