"""The one thread rule: a thread per physical core this process may use."""

from __future__ import annotations

from gpt2gguf.cpu import physical_cores


def _cpuinfo(cpus: list[tuple[int, int, int]]) -> str:
    """/proc/cpuinfo text for (processor, physical id, core id) triples."""
    return "\n\n".join(
        f"processor\t: {p}\nphysical id\t: {socket}\ncore id\t\t: {core}\nflags\t\t: avx2"
        for p, socket, core in cpus
    )


# Two cores with two hyper-threads each: processors 0-1 are the cores, 2-3 their siblings.
HYPER_THREADED = _cpuinfo([(0, 0, 0), (1, 0, 1), (2, 0, 0), (3, 0, 1)])


def test_hyper_threads_count_once():
    assert physical_cores(HYPER_THREADED, allowed={0, 1, 2, 3}) == 2


def test_only_the_cores_of_the_affinity_mask_count():
    assert physical_cores(HYPER_THREADED, allowed={0, 2}) == 1  # both threads of core 0
    assert physical_cores(HYPER_THREADED, allowed={1}) == 1


def test_the_same_core_id_on_two_sockets_is_two_cores():
    two_sockets = _cpuinfo([(0, 0, 0), (1, 1, 0)])
    assert physical_cores(two_sockets, allowed={0, 1}) == 2


def test_without_core_ids_every_usable_cpu_counts():
    assert physical_cores("processor\t: 0\n\nprocessor\t: 1\n", allowed={0, 1, 5}) == 3
    assert physical_cores("", allowed={0, 1}) == 2
