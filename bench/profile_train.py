#!/usr/bin/python3
"""bench/profile_train.py: where one adapter-training step goes, accent next to the
PyTorch peer, same shape (mms-300m, batch 4 x 5 s, adapters + head, base frozen), same
machine, back to back, in fp32 and bf16. Appends a section to bench/RESULTS.md.

accent's side, from two runs of bench_train:
  - ONEDNN_VERBOSE=1: every oneDNN primitive's execution time in the timed step
    (matmuls split into the linear layers and attention's batched matmuls,
    convolutions, reorders), the forward/backward boundary found where the
    lm_head's forward matmul is followed by its input-gradient matmul;
  - perf (when installed, ONEDNN_JIT_PROFILE=2 so JIT code has names): the share
    of CPU samples in everything else (norms, activations, softmax, copies,
    OpenMP waiting, ...), turned into ms with that run's median step time.
PyTorch's side: bench/torch_profile.py under torch.profiler (self CPU time per op,
the same categories). The per-op times of each side are its own sums and need not
add to exactly its step time (profilers add overhead, and accent's two runs are
separate); the step times come from unprofiled timing in the same runs.

  make bench-profile      or   BINDIR=bin /usr/bin/python3 bench/profile_train.py
Not a test.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BINDIR = os.environ.get("BINDIR", "bin")
TORCH = os.environ.get("TORCH_REF", "../shared/bench/torch_ref")
OUT = os.environ.get("RESULTS", "bench/RESULTS.md")
HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = ["--preset", "mms-300m", "--batch", "4", "--seconds", "5"]
ORDER = ["linear matmuls", "attention matmuls", "convolutions", "softmax", "norms",
         "activations (GELU, ReLU)", "CTC loss, log-softmax", "optimizer", "copies, casts, views",
         "OpenMP waiting", "autograd bookkeeping", "other element-wise", "kernel (page faults, ...)"]


def sh(cmd, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, env=e, capture_output=True, text=True)


def step_time(stdout):
    """bench_train's median step (s) from its table row."""
    for line in stdout.splitlines():
        if line.startswith("| mms-300m"):
            return float(line.split("|")[6])
    raise SystemExit("bench_train printed no result row:\n" + stdout[-2000:])


def dims2(d):
    """'996x1024:1024x4096:996x4096' -> [(996,1024),(1024,4096),...] for 2-D matmuls, else None."""
    parts = d.split(":")
    out = []
    for p in parts:
        xs = p.split("x")
        if len(xs) != 2:
            return None
        out.append((int(xs[0]), int(xs[1])))
    return out


def accent_onednn(prec):
    """Per-category ms of the oneDNN primitives in bench_train's timed step, and
    the forward/backward split of the matmul time."""
    r = sh([os.path.join(BINDIR, "bench_train")] + SHAPE + ["--steps", "1", "--precision", prec],
           {"ONEDNN_VERBOSE": "1"})
    ex = [l.split(",") for l in r.stdout.splitlines() if l.startswith("onednn_verbose,exec,")]
    ex = ex[len(ex) // 2:]   # warm-up step, then the timed step: the same sequence twice
    # the forward ends with the lm_head's matmul [M,H]x[H,V]: the only 2-D
    # matmul of the step whose output width V occurs once (the adapters'
    # width A occurs in every layer, forward and backward)
    ns = {}
    for f in ex:
        d = dims2(f[-2]) if f[3] == "matmul" else None
        if d:
            ns[d[1][1]] = ns.get(d[1][1], 0) + 1
    split = len(ex)
    for i, f in enumerate(ex):
        d = dims2(f[-2]) if f[3] == "matmul" else None
        if d and ns[d[1][1]] == 1:
            split = i + 1
            break
    cats, phase = {}, {"forward": 0.0, "backward": 0.0}
    for i, f in enumerate(ex):
        kind, ms = f[3], float(f[-1])
        if kind == "matmul":
            c = "linear matmuls" if dims2(f[-2]) else "attention matmuls"
        elif kind == "convolution":
            c = "convolutions"
        elif kind == "reorder":
            c = "copies, casts, views"
        else:
            c = "other element-wise"
        cats[c] = cats.get(c, 0.0) + ms
        phase["forward" if i < split else "backward"] += ms
    return cats, phase, step_time(r.stdout)


SYMS = [  # (regex on the perf symbol, category); the first match wins
    (r"jit_brgemm_kernel|jit_avx512.*conv|jit_.*gemm|brgemm|jit_uni_reorder|jit_.*copy_[ab]", None),
    (r"layernorm|groupnorm|row_stats", "norms"),
    (r"gelu|relu", "activations (GELU, ReLU)"),
    (r"attention_", "softmax"),
    (r"ctc|log_softmax|logsumexp", "CTC loss, log-softmax"),
    (r"adamw", "optimizer"),
    (r"memset|memmove|memcpy|mm_in|copy|to_bf16|bf16", "copies, casts, views"),
    (r"libgomp|GOMP", "OpenMP waiting"),
]


def accent_perf(prec):
    """Per-category share of CPU samples outside oneDNN's kernels, in ms of the
    run's median step; None without perf."""
    if not shutil.which("perf"):
        return None
    d = tempfile.mkdtemp()
    data = os.path.join(d, "perf.data")
    # skip the set-up (random weights, first touches): start sampling after 12 s
    r = sh(["perf", "record", "-D", "12000", "-F", "499", "-o", data, os.path.join(BINDIR, "bench_train")]
           + SHAPE + ["--steps", "4", "--precision", prec], {"ONEDNN_JIT_PROFILE": "2"})
    if r.returncode:
        return None
    st = step_time(r.stdout)
    rep = sh(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none"])
    shutil.rmtree(d, ignore_errors=True)
    cats = {}
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+(\S.*?)\s+\[(.)\]\s+(\S+)", line)
        if not m:
            continue
        pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        name = sym if "libgomp" not in dso else "libgomp"
        cat = "other element-wise"
        if kind == "k":
            cat = "kernel (page faults, ...)"
        else:
            for rx, c in SYMS:
                if re.search(rx, name):
                    cat = c
                    break
        if cat is None:
            continue   # oneDNN's own time: measured by accent_onednn
        cats[cat] = cats.get(cat, 0.0) + pct / 100.0 * st * 1000.0
    return cats, st


def torch_profile(prec):
    env = {"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp",
           "OPENBLAS_CORETYPE": "SkylakeX", "OMP_NUM_THREADS": "2"}
    tc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
    if os.path.exists(tc):
        env["LD_PRELOAD"] = tc
    r = sh(["/usr/bin/python3", os.path.join(HERE, "torch_profile.py"), TORCH, prec, "4", "5", "2"], env)
    if r.returncode:
        sys.stderr.write(r.stderr[-3000:])
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    if not os.path.exists(os.path.join(BINDIR, "bench_train")):
        raise SystemExit("error: %s/bench_train not built (make bench-profile)" % BINDIR)
    have_torch = os.path.exists(os.path.join(TORCH, "model.py"))
    lines = []
    for prec, tprec in (("fp32", "fp32"), ("bf16", "bf16-autocast")):
        sys.stderr.write("== accent %s: oneDNN verbose run\n" % prec)
        od, ph, st_v = accent_onednn(prec)
        sys.stderr.write("== accent %s: perf run\n" % prec)
        pf, st_p = accent_perf(prec) or ({}, None)
        tp = None
        if have_torch:
            sys.stderr.write("== PyTorch %s: torch.profiler run\n" % tprec)
            tp = torch_profile(tprec)
        a = dict(od)
        for k, v in pf.items():
            a[k] = a.get(k, 0.0) + v
        t = tp["ops"] if tp else {}
        lines.append("")
        lines.append("### %s (accent) vs %s (PyTorch)" % (prec, tprec))
        lines.append("")
        lines.append("Step time: accent %s ms in the perf run (%.0f ms in the verbose run, which times each "
                     "primitive); PyTorch %s ms unprofiled, %s ms under torch.profiler."
                     % ("%.0f" % (st_p * 1000) if st_p else "n/a", st_v * 1000,
                        "%.0f" % tp["plain_ms"] if tp else "n/a", "%.0f" % tp["step_ms"] if tp else "n/a"))
        lines.append("oneDNN time by phase (accent): forward %.0f ms, backward %.0f ms. PyTorch by phase: %s."
                     % (ph["forward"], ph["backward"],
                        ", ".join("%s %.0f ms" % (k, v) for k, v in tp["phases"].items()) if tp else "n/a"))
        lines.append("")
        lines.append("| category | accent ms | PyTorch ms | accent - PyTorch ms |")
        lines.append("|---|---|---|---|")
        ta = tt = 0.0
        for c in ORDER + sorted((set(a) | set(t)) - set(ORDER)):
            if c not in a and c not in t:
                continue
            x, y = a.get(c, 0.0), t.get(c, 0.0)
            ta += x
            tt += y
            lines.append("| %s | %.0f | %s | %+.0f |" % (c, x, "%.0f" % y if tp else "n/a", x - y))
        lines.append("| **sum** | **%.0f** | **%s** | |" % (ta, "%.0f" % tt if tp else "n/a"))
        if tp:
            lines.append("")
            lines.append("PyTorch's largest ops (self CPU ms per step): " +
                         ", ".join("%s %.0f" % (n, v) for n, v in tp["top"][:10]) + ".")
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    head = ["", "## Per-op profile of an adapter-training step, accent vs PyTorch (bench/profile_train.py), "
            + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "",
            "Machine: %s, %d cores, load average at the end: %s. mms-300m adapters + head, batch 4 x 5 s."
            % (cpu, os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3])),
            "accent: oneDNN primitives timed by ONEDNN_VERBOSE (one timed step), the rest from perf's"
            " sample shares times the step time; PyTorch: torch.profiler self CPU time (2 steps, mean)."]
    text = "\n".join(head + lines) + "\n"
    sys.stdout.write(text)
    if not os.environ.get("NO_RECORD"):
        with open(OUT, "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
