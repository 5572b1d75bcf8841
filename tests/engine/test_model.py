"""Loading choices the engine leaves automatic: threads and GPU layers."""

import dataclasses

from gpt2gguf.cpu import physical_cores
from gpt2gguf.llama import gpu_devices
from writer_app.engine import Engine, EngineConfig


def test_threads_default_to_the_physical_cores_and_return_to_them(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf)) as eng:
        assert eng.n_threads == physical_cores()
        eng.update_config(dataclasses.replace(eng.config, n_threads=1))
        assert eng.n_threads == 1
        eng.update_config(dataclasses.replace(eng.config, n_threads=None))
        assert eng.n_threads == physical_cores()


def test_automatic_gpu_layers_offload_exactly_when_there_is_a_gpu(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf, n_threads=1)) as eng:
        if gpu_devices():
            assert eng.backend != "CPU"
        else:
            assert eng.backend == "CPU"
