#!/usr/bin/python3
"""bench/torch_profile.py: torch.profiler's view of one adapter-training step of the
PyTorch peer (../shared/bench/torch_ref, its model and its step: forward, HF-style CTC
loss, backward, AdamW over adapters + head, base frozen), grouped into the same
categories as bench/profile_train.py uses for accent, as JSON on stdout:

  {"step_ms": ... (under the profiler), "plain_ms": ... (without it), "phases": {"forward": ms, "backward": ms, "optimizer": ms},
   "ops": {"<category>": ms, ...}, "top": [[op name, self ms], ...]}

Run by bench/profile_train.py with the peer's BLAS and allocator environment
(OpenBLAS openmp with its AVX-512 kernels pinned, tcmalloc), like bench.py runs it:
  torch_profile.py TORCH_REF_DIR PRECISION(fp32|bf16-autocast) BATCH SECONDS STEPS
Not a test.
"""
import json
import sys
import time


def category(name):
    """The op's category, named as in profile_train.py's accent side."""
    n = name.split("::")[-1]
    if "Backward" in n or n in ("AccumulateGrad", "torch::autograd::AccumulateGrad"):
        return "autograd bookkeeping"
    if n in ("addmm", "mm", "linear", "matmul") or n.startswith("addmm"):
        return "linear matmuls"
    if n in ("bmm", "baddbmm"):
        return "attention matmuls"
    if "softmax" in n:
        return "softmax"
    if "conv" in n:
        return "convolutions"
    if "layer_norm" in n or "group_norm" in n or "native_batch_norm" in n:
        return "norms"
    if "gelu" in n or "relu" in n or "threshold" in n:
        return "activations (GELU, ReLU)"
    if "ctc" in n or "log_softmax" in n:
        return "CTC loss, log-softmax"
    if n.startswith("_foreach") or "adam" in n or n in ("addcdiv_", "addcmul_", "lerp_", "sqrt", "div_", "mul_"):
        return "optimizer"
    if n in ("copy_", "to", "_to_copy", "contiguous", "clone", "empty", "empty_like", "zeros", "zero_",
             "fill_", "as_strided", "t", "numpy_T", "view", "reshape", "transpose", "permute", "expand", "_reshape_alias",
             "unsqueeze", "squeeze", "select", "slice", "cat", "stack", "split", "chunk", "narrow",
             "resize_", "detach", "alias", "empty_strided", "new_empty_strided", "set_"):
        return "copies, casts, views"
    return "other element-wise"


def main():
    ref, prec, batch, seconds, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    sys.path.insert(0, ref)
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function
    from backends import set_threads
    from model import Wav2Vec2ForCTC, ctc_loss

    set_threads(2)
    torch.manual_seed(0)
    model = Wav2Vec2ForCTC("mms-300m")
    params = model.freeze_base_model()
    s = int(seconds * 16000)
    wav = torch.randn(batch, s)
    wav = (wav - wav.mean(-1, keepdim=True)) / wav.std(-1, keepdim=True)
    tl = max(1, int(seconds * 10))
    targets = torch.randint(1, model.config["vocab_size"], (batch * tl,))
    tlen = torch.full((batch,), tl, dtype=torch.long)
    autocast = prec == "bf16-autocast"
    model.train()
    opt = torch.optim.AdamW(params, lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        with record_function("phase:forward"):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                logits = model(wav)
                loss = ctc_loss(logits, targets, tlen)
        with record_function("phase:backward"):
            loss.backward()
        with record_function("phase:optimizer"):
            opt.step()

    step()   # warm-up (oneDNN primitive creation, allocator)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    plain = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    wall = (time.perf_counter() - t0) / steps
    ops, phases, top = {}, {}, {}
    for ev in prof.events():
        if ev.name.startswith("phase:"):
            k = ev.name[6:]
            phases[k] = phases.get(k, 0.0) + ev.cpu_time_total / 1000.0
            continue
        if ev.name.startswith("ProfilerStep") or ev.name.startswith("autograd::engine"):
            continue
        ms = ev.self_cpu_time_total / 1000.0
        if ms <= 0:
            continue
        c = category(ev.name)
        ops[c] = ops.get(c, 0.0) + ms
        top[ev.name] = top.get(ev.name, 0.0) + ms
    out = {
        "precision": prec, "step_ms": wall * 1000.0, "plain_ms": plain * 1000.0,
        "phases": {k: v / steps for k, v in phases.items()},
        "ops": {k: v / steps for k, v in ops.items()},
        "top": sorted(([k, v / steps] for k, v in top.items()), key=lambda kv: -kv[1])[:15],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
