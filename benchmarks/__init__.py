"""The benchmark harness: our agents and Stable-Baselines3 behind one interface, suites and the zoo's
settings as data files, one report writer, one command.

    python -m benchmarks suite defaults          # a named suite (benchmarks/suites/NAME.json)
    python -m benchmarks speed                   # the throughput sections (limit, floor, throughput, tutorial, pong)
    python -m benchmarks list                    # the suites, their rows and entrants

Run from the repository's root (`python -m` finds this package there). Tools that answer one
question each (dead units, the HalfCheetah probe, scaling, memory, the allocator, spaces) are
`python -m benchmarks.tools.NAME`.
"""
