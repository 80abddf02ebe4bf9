"""PyTorch CPU peer for bench/torch-peer.mjs: the windowed workloads of the WebAssembly issue, one thread, float32.

Runs as a server so that the benchmark can alternate rounds (poolkit, torch, poolkit, ...) and both see
the same machine noise: each stdin line is a JSON request {"workload", "mode": "fwd"|"bwd"|"fwdbwd", "reps",
"warmup"} (RoIAlign's first request also carries "boxes": 128 rows [batch, x1, y1, x2, y2], the same
boxes poolkit gets); each answer is one JSON line {"times": [ms, ...]}. The first line written is
{"ready": true, "torch": version, "torchvision": version or null, "threads": n}.

What is timed, per workload (the inputs are made once, before timing):
- "fwd": the forward under torch.no_grad() (what inference runs: PyTorch's CPU max pooling then
  computes no indices, poolkit's always does);
- "bwd": the backward alone, torch.autograd.grad(y, inputs, dy, retain_graph=True) on a forward made
  once outside the timing (as poolkit's `vjp(...).backward(dy)` on a vjp made once);
- "fwdbwd": the forward with autograd recording and the backward, both timed.
Where PyTorch has no op, the composite its users write: SoftPool is avg_pool2d(x*exp(x)) / avg_pool2d(exp(x))
(the SoftPool paper's formulation); LIP is avg_pool2d(x*exp(l)) / avg_pool2d(exp(l)) with the logit l given
(the official LIP code's formula). Global pooling is adaptive_{avg,max}_pool2d(x, 1) (nn.AdaptiveAvgPool2d(1)).
Max-unpooling is F.max_unpool2d of the values and indices of a 2×2 max pool (its own random input, the same
shapes as poolkit's), gradient to the values only.
RoIAlign is torchvision.ops.roi_align (aligned=False, as poolkit's default), RoIPool torchvision.ops.roi_pool.
Mixed pooling is lam * max_pool2d + (1 - lam) * avg_pool2d with the λ per (n, c) poolkit gets ("lambdas"
in the request); fractional max pooling is F.fractional_max_pool2d with the same "_random_samples".
Detail-preserving pooling (lite, symmetric) is the composite of the official nngraph graphs (visinf/dpp,
DPP_sym_lite.lua): Ĩ = nearest×2(avg_pool2d(x, 2)), q = (x − Ĩ)² + 1e-3, r = (q / nearest×2(avg_pool2d(q, 2)))^(λ/2)
with λ = exp(θλ), w = r + exp(min(θα, 10)), y = avg_pool2d(w·x, 2) / avg_pool2d(w, 2), with the θα, θλ poolkit
gets ("thetaA", "thetaL" in the request), gradients to x, θα and θλ.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)

try:
    import torchvision
    from torchvision.ops import roi_align, roi_pool
except Exception:  # torchvision is optional: RoIAlign and RoIPool are then skipped
    torchvision = None
    roi_align = None
    roi_pool = None

S112 = (8, 64, 112, 112)
S56 = (8, 64, 56, 56)
SR = (2, 256, 50, 50)
SG = (32, 512, 7, 7)
S3D = (2, 64, 16, 56, 56)  # video: [N, C, T, H, W]
S1D = (16, 128, 4096)  # audio/sequence: [N, C, L]


def r(shape):
    return torch.randn(*shape, dtype=torch.float32)


def make(name, req):
    """(inputs, function of inputs) for a workload name (same shapes and options as bench/torch-peer.mjs)."""
    if name == "W1":
        return [r(S112)], lambda t: F.max_pool2d(t[0], 2, 2)
    if name == "W2":
        return [r(S112)], lambda t: F.max_pool2d(t[0], 3, 2, 1)
    if name == "W3":
        return [r(S56)], lambda t: F.avg_pool2d(t[0], 3, 1, 1, count_include_pad=True)
    if name == "avg-s2":
        return [r(S56)], lambda t: F.avg_pool2d(t[0], 3, 2, 1, count_include_pad=True)
    if name == "avg-k2":
        return [r(S112)], lambda t: F.avg_pool2d(t[0], 2, 2)
    if name == "unpool":
        # the values and indices of a 2x2 max pool of a [8,64,112,112] input, as poolkit's inputs
        y, ind = F.max_pool2d(r(S112), 2, 2, return_indices=True)
        return [y, ind], lambda t: F.max_unpool2d(t[0], t[1], 2, 2)
    if name == "LP":
        return [r(S56)], lambda t: F.lp_pool2d(t[0], 2.0, 3, stride=2)
    if name == "SoftPool":
        def soft(t):
            e = torch.exp(t[0])
            return F.avg_pool2d(t[0] * e, 2, 2) / F.avg_pool2d(e, 2, 2)
        return [r(S56)], soft
    if name == "LIP":
        def lip(t):
            e = torch.exp(t[1])
            return F.avg_pool2d(t[0] * e, 3, 2, 1) / F.avg_pool2d(e, 3, 2, 1)
        return [r(S56), r(S56)], lip
    if name == "RoIAlign":
        if roi_align is None:
            raise RuntimeError("torchvision is not installed")
        boxes = torch.tensor(req["boxes"], dtype=torch.float32).reshape(-1, 5)
        return [r(SR)], lambda t: roi_align(t[0], boxes, output_size=7, spatial_scale=1.0, sampling_ratio=2, aligned=False)
    if name == "RoIPool":
        if roi_pool is None:
            raise RuntimeError("torchvision is not installed")
        boxes = torch.tensor(req["boxes"], dtype=torch.float32).reshape(-1, 5)
        return [r(SR)], lambda t: roi_pool(t[0], boxes, output_size=7, spatial_scale=1.0)
    if name == "mixed":
        lam = torch.tensor(req["lambdas"], dtype=torch.float32).reshape(S56[0], S56[1], 1, 1)
        return [r(S56)], lambda t: lam * F.max_pool2d(t[0], 3, 2, 1) + (1 - lam) * F.avg_pool2d(t[0], 3, 2, 1)
    if name == "fractional":
        samples = torch.tensor(req["samples"], dtype=torch.float32).reshape(S56[0], S56[1], 2)
        return [r(S56)], lambda t: F.fractional_max_pool2d(t[0], 2, output_size=40, _random_samples=samples)
    if name == "adaptive-avg":
        return [r(S56)], lambda t: F.adaptive_avg_pool2d(t[0], 7)
    if name == "adaptive-max":
        return [r(S56)], lambda t: F.adaptive_max_pool2d(t[0], 7)
    if name == "global-avg":
        return [r(SG)], lambda t: F.adaptive_avg_pool2d(t[0], 1)
    if name == "global-max":
        return [r(SG)], lambda t: F.adaptive_max_pool2d(t[0], 1)
    if name == "max3d-133":
        return [r(S3D)], lambda t: F.max_pool3d(t[0], (1, 3, 3), (1, 2, 2), (0, 1, 1))
    if name == "max3d-k3":
        return [r(S3D)], lambda t: F.max_pool3d(t[0], 3, 2, 1)
    if name == "avg3d-k3":
        return [r(S3D)], lambda t: F.avg_pool3d(t[0], 3, 2, 1, count_include_pad=True)
    if name == "adaptive-avg3d-1":
        return [r(S3D)], lambda t: F.adaptive_avg_pool3d(t[0], 1)
    if name == "max1d-k2":
        return [r(S1D)], lambda t: F.max_pool1d(t[0], 2, 2)
    if name == "DPP":
        ta = torch.tensor(req["thetaA"], dtype=torch.float32)
        tl = torch.tensor(req["thetaL"], dtype=torch.float32)

        def dpp(t):
            x, a, l = t
            up = lambda v: F.interpolate(v, scale_factor=2, mode="nearest")
            d = x - up(F.avg_pool2d(x, 2))
            q = d * d + 1e-3
            r = (q / up(F.avg_pool2d(q, 2))) ** (torch.exp(l).view(1, -1, 1, 1) / 2)
            w = r + torch.exp(torch.clamp(a, max=10.0)).view(1, -1, 1, 1)
            return F.avg_pool2d(w * x, 2) / F.avg_pool2d(w, 2)
        return [r(S56), ta, tl], dpp
    raise ValueError(name)


cache = {}


def prepared(req):
    """Inputs, forward, and (for "bwd" and "fwdbwd") the graph and dy, made once per workload and mode."""
    key = (req["workload"], req["mode"])
    if key not in cache:
        ins, fn = make(req["workload"], req)
        if req["mode"] in ("bwd", "fwdbwd"):
            for t in ins:
                if t.is_floating_point():
                    t.requires_grad_(True)
            y = fn(ins)
            dy = torch.randn_like(y)
            cache[key] = (ins, fn, y, dy)
        else:
            cache[key] = (ins, fn, None, None)
    return cache[key]


def run(req):
    ins, fn, y, dy = prepared(req)
    wrt = [t for t in ins if t.is_floating_point()]  # max-unpooling's indices have no gradient
    times = []
    for i in range(req["warmup"] + req["reps"]):
        t0 = time.perf_counter()
        if req["mode"] == "fwdbwd":
            torch.autograd.grad(fn(ins), wrt, dy)
        elif y is not None:
            torch.autograd.grad(y, wrt, dy, retain_graph=True)
        else:
            with torch.no_grad():
                fn(ins)
        dt = (time.perf_counter() - t0) * 1000
        if i >= req["warmup"]:
            times.append(dt)
    return times


def main():
    tv = getattr(torchvision, "__version__", None) if torchvision is not None else None
    print(json.dumps({"ready": True, "torch": torch.__version__, "torchvision": tv, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            print(json.dumps({"times": run(req)}), flush=True)
        except Exception as e:  # one workload failing must not end the peer
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
