"""featx.store._guarded: HDF5 written through a file object that keeps disk errors from HDF5, and
Ctrl-C held while HDF5 calls into it."""

from __future__ import annotations

import os
import signal
import threading

import h5py
import numpy as np
import pytest

from featx.store._guarded import GuardedFile, interrupts_held


def test_ctrl_c_during_an_hdf5_write_is_delivered_after_it_and_the_file_is_whole(tmp_path):
    path = tmp_path / "f.h5"
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with GuardedFile(path) as fh, interrupts_held(), h5py.File(fh, "w") as h5:
            h5["a"] = np.arange(10)
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, in the middle of the writes
            h5["b"] = np.arange(1000.0)
            reached_end = True
    assert reached_end
    with h5py.File(path) as h5:
        assert h5["b"][-1] == 999.0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_ctrl_c_the_block_is_transparent_and_other_threads_hold_nothing(tmp_path):
    with interrupts_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    seen = []

    def write() -> None:
        with interrupts_held():
            seen.append(signal.getsignal(signal.SIGINT))

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    assert seen == [signal.default_int_handler]
