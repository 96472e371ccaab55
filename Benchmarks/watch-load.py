#!/usr/bin/env python3
"""Synthetic upload load for Benchmarks/watch.sh, and the time-to-clean it measures.

  watch-load.py write CORPUS_DIR INCOMING LOG --rate R --duration S [--burst N] [--seed K] [--start-index I]
      Writes uploads into INCOMING: Poisson arrivals at R files/s for S seconds (or, with
      --burst N, N files at once), each in a new directory as Whitehall did
      (system/uploads/attachment_data/file/<id>/<name>), written and closed in one go; appends
      "<relative path>\t<close time>" to LOG.
  watch-load.py measure ROOT LOG
      For each logged file: time-to-clean = ctime of its entry in clean/ or infected/ (a rename or
      copy into the outcome tree stamps it) minus its close time. Prints n, missing, p50, p90,
      p99, max (seconds).
"""
import os, random, sys, time


def write(args):
    corpus, incoming, log = args[0], args[1], args[2]
    opts = dict(zip(args[3::2], args[4::2]))
    rate = float(opts.get("--rate", "1"))
    duration = float(opts.get("--duration", "60"))
    burst = int(opts.get("--burst", "0"))
    rng = random.Random(int(opts.get("--seed", "1")))
    index = int(opts.get("--start-index", "0"))
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs)
    with open(log, "a") as out:
        def upload(i):
            source = files[i % len(files)]
            rel = "system/uploads/attachment_data/file/%d/%s" % (i, os.path.basename(source))
            path = os.path.join(incoming, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(source, "rb") as src:
                data = src.read()
            with open(path, "wb") as dst:
                dst.write(data)
            out.write("%s\t%.6f\n" % (rel, time.time()))
        if burst:
            for i in range(index, index + burst):
                upload(i)
            return
        start = time.monotonic()
        due = start
        i = index
        while True:
            due += rng.expovariate(rate)
            if due - start > duration:
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            upload(i)
            i += 1


def percentile(values, p):
    # nearest rank
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, int(-(-p * len(values) // 100)) - 1))
    return values[k]


def measure(args):
    root, log = args[0], args[1]
    waits, missing = [], 0
    for line in open(log):
        rel, closed = line.rstrip("\n").split("\t")
        for tree in ("clean", "infected"):
            try:
                waits.append(os.lstat(os.path.join(root, tree, rel)).st_ctime - float(closed))
                break
            except FileNotFoundError:
                continue
        else:
            missing += 1
    waits.sort()
    print("%d %d %.2f %.2f %.2f %.2f" % (len(waits), missing, percentile(waits, 50), percentile(waits, 90),
                                         percentile(waits, 99), waits[-1] if waits else float("nan")))


if __name__ == "__main__":
    {"write": write, "measure": measure}[sys.argv[1]](sys.argv[2:])
