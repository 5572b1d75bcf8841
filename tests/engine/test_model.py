"""Loading choices: threads from physical cores, GPU layers from what llama.cpp can do."""

import os

import llama_cpp

from writer_app.engine import Engine, EngineConfig
from writer_app.engine.model import default_gpu_layers, physical_cores


def test_physical_cores_is_between_one_and_the_logical_cpus():
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_gpu_layers_default_to_all_only_when_llama_cpp_can_offload():
    assert default_gpu_layers() == (-1 if llama_cpp.llama_supports_gpu_offload() else 0)


def test_threads_default_to_the_physical_cores(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf)) as eng:
        assert eng.n_threads == physical_cores()
