"""PyTorch CPU peer for bench/matrix.mjs: the same matrix-bound workloads, one thread, float32.

Runs as a server so that bench/matrix.mjs can alternate rounds (poolkit, torch, poolkit, …) and both
see the same machine noise: each stdin line is a JSON request {"workload", "mode": "fwd"|"fwdbwd",
"reps", "warmup"}; each answer is one JSON line {"times": [ms, …]}. The first line written is
{"ready": true, "torch": version, "blas": path of the libblas.so.3 actually mapped}.

Where torch has no op, the composite is the one the issue names: covariance through bmm and
torch.linalg.eigh (or the iSQRT-COV Newton–Schulz iteration), B-CNN through bmm + signed √ + L2,
MLB through 1×1 projections (einsum), tanh, Hadamard product, mean over locations, linear; compact
bilinear pooling (Tensor Sketch, Gao et al. CVPR 2016) as the count sketches of every location
(index_add_ of the signed channels into d buckets), torch.fft.rfft of both, product, irfft, sum over
locations, signed √ + L2 — fixed random hashes and signs (the same work as poolkit's, not the same draws).
"""
import json
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def blas_path():
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                if "libblas" in line or "libopenblas" in line:
                    return line.split()[-1]
    except OSError:
        pass
    return "unknown"


def covariance(x, norm, eps=None, iterations=5):
    n, d, h, w = x.shape
    m = h * w
    xm = x.reshape(n, d, m)
    xc = xm - xm.mean(dim=2, keepdim=True)
    c = torch.bmm(xc, xc.transpose(1, 2)) / m
    if norm == "newton-schulz":
        eye = torch.eye(d, dtype=x.dtype).expand(n, d, d)
        tr = c.diagonal(dim1=1, dim2=2).sum(-1).view(n, 1, 1)
        a = c / tr
        zy = 0.5 * (3.0 * eye - a)
        y = torch.bmm(a, zy)
        z = zy
        for _ in range(1, iterations - 1):
            zy = 0.5 * (3.0 * eye - torch.bmm(z, y))
            y, z = torch.bmm(y, zy), torch.bmm(zy, z)
        out = 0.5 * torch.bmm(y, 3.0 * eye - torch.bmm(z, y)) * torch.sqrt(tr)
    else:
        lam, u = torch.linalg.eigh(c)
        if norm == "logm":
            f = torch.log(lam.clamp(min=0) + (1e-3 if eps is None else eps))
        else:
            f = torch.sqrt(lam.clamp(min=0))
        out = torch.bmm(u * f.unsqueeze(1), u.transpose(1, 2))
    iu = torch.triu_indices(d, d)
    return out[:, iu[0], iu[1]]


def bilinear(a):
    n, c, h, w = a.shape
    am = a.reshape(n, c, h * w)
    v = torch.bmm(am, am.transpose(1, 2)).reshape(n, c * c)
    u = torch.sign(v) * torch.sqrt(v.abs() + 1e-12)
    return u / torch.sqrt((u * u).sum(1, keepdim=True) + 1e-10)


def low_rank(x, y, U, V, P, bu, bv, bp):
    n, c, h, w = x.shape
    xm = x.reshape(n, c, h * w)
    ym = y.reshape(n, y.shape[1], h * w)
    a = torch.tanh(torch.einsum("rc,ncl->nrl", U, xm) + bu.view(1, -1, 1))
    b = torch.tanh(torch.einsum("rc,ncl->nrl", V, ym) + bv.view(1, -1, 1))
    hm = (a * b).mean(2)
    return hm @ P.t() + bp


def tensor_sketch(a, h1, s1, h2, s2, d):
    n, c, hh, ww = a.shape
    xm = a.permute(0, 2, 3, 1).reshape(-1, c)
    p1 = xm.new_zeros(xm.shape[0], d).index_add_(1, h1, xm * s1)
    p2 = xm.new_zeros(xm.shape[0], d).index_add_(1, h2, xm * s2)
    phi = torch.fft.irfft(torch.fft.rfft(p1) * torch.fft.rfft(p2), n=d)
    v = phi.reshape(n, hh * ww, d).sum(1)
    u = torch.sign(v) * torch.sqrt(v.abs() + 1e-12)
    return u / torch.sqrt((u * u).sum(1, keepdim=True) + 1e-10)


def r(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def make(name):
    """(inputs needing grad, function) for a workload name (same shapes as bench/matrix.mjs)."""
    if name.startswith("cov-"):
        # cov-<norm>-<D>-<N>
        _, norm, d, n = name.split("-")
        d, n = int(d), int(n)
        norm = {"sqrtm": "sqrtm", "logm": "logm", "ns5": "newton-schulz"}[norm]
        x = r(n, d, 14, 14)
        return [x], lambda t: covariance(t[0], norm)
    if name == "bilinear-512":
        return [r(8, 512, 14, 14)], lambda t: bilinear(t[0])
    if name == "cbp-ts-8192":
        d = 8192
        g = torch.Generator().manual_seed(1)
        h1, h2 = torch.randint(0, d, (512,), generator=g), torch.randint(0, d, (512,), generator=g)
        s1, s2 = (torch.randint(0, 2, (512,), generator=g) * 2 - 1).float(), (torch.randint(0, 2, (512,), generator=g) * 2 - 1).float()
        return [r(8, 512, 14, 14)], lambda t: tensor_sketch(t[0], h1, s1, h2, s2, d)
    if name == "lowrank-256":
        ins = [r(8, 512, 14, 14), r(8, 512, 14, 14), r(256, 512) * 0.05, r(256, 512) * 0.05, r(200, 256) * 0.05, r(256), r(256), r(200)]
        return ins, lambda t: low_rank(*t)
    raise ValueError(name)


def run(req):
    ins, fn = make(req["workload"])
    bwd = req["mode"] == "fwdbwd"
    for t in ins:
        t.requires_grad_(bwd)
    times = []
    for i in range(req["warmup"] + req["reps"]):
        t0 = time.perf_counter()
        if bwd:
            out = fn(ins)
            out.backward(torch.ones_like(out))
            for t in ins:
                t.grad = None
        else:
            with torch.no_grad():
                fn(ins)
        dt = (time.perf_counter() - t0) * 1000
        if i >= req["warmup"]:
            times.append(dt)
    return times


def main():
    print(json.dumps({"ready": True, "torch": torch.__version__, "blas": blas_path()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        print(json.dumps({"times": run(req)}), flush=True)


if __name__ == "__main__":
    main()
