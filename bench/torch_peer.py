"""The PyTorch CPU peer of `npm run bench` (bench/torch-peer.ts runs it when `import torch` works).

The same SimpleUNet (docs/contracts.md, Models: names, forward, community parametrization) and the
same consistency-training step as bench/step-cases.ts (recipe `seed`: the online network at
sigma_{i+1} with gradients, the EMA target at sigma_i without, squared distance, backward, AdamW
lr 1e-4 weight decay 0.01, target EMA update), or one-step sampling, timed in this process on the
same number of threads. Prints one JSON line:
  {"name", "median_ms", "samples", "max_rss_mb", "torch", "threads"}

  python3 bench/torch_peer.py --what ct-step|sample --width 32 --batch 32 --threads 2 [--seconds 2]
  python3 bench/torch_peer.py --check FILE   (FILE: onestep's weights as model.*, an input x, t and
      onestep's output y; prints {"max_abs_diff", "max_abs_y"}: the two models compute the same)
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0


def block(i, o):
    return nn.Sequential(nn.GroupNorm(32, i), nn.SiLU(), nn.Conv2d(i, o, 3, padding=1),
                         nn.GroupNorm(32, o), nn.SiLU(), nn.Conv2d(o, o, 3, padding=1))


class SimpleUNet(nn.Module):
    def __init__(self, channels, width):
        super().__init__()
        C, D = channels, width
        self.width = D
        self.down = nn.ModuleList([nn.Conv2d(C, D, 3, padding=1), block(D, D), block(D, 2 * D), block(2 * D, 2 * D)])
        self.time_downs = nn.ModuleList([nn.Linear(2 * D, D), nn.Linear(2 * D, D), nn.Linear(2 * D, 2 * D), nn.Linear(2 * D, 2 * D)])
        self.mid = block(2 * D, 2 * D)
        self.up = nn.ModuleList([block(2 * D, 2 * D), block(4 * D, D), block(D, D), nn.Conv2d(2 * D, 2 * D, 3, padding=1)])
        self.last = nn.Conv2d(2 * D + C, C, 3, padding=1)

    def forward(self, x_in, t):
        D = self.width
        freqs = torch.exp(-math.log(10000) * torch.arange(D, dtype=t.dtype) / D)
        args = t[:, None] * freqs[None]
        emb = torch.cat([torch.sin(args), torch.cos(args)], 1)
        skips, x = [], x_in
        for idx, layer in enumerate(self.down):
            if idx % 2 == 0:
                x = F.interpolate(layer(x), scale_factor=0.5, mode='nearest')
                skips.append(x)
            else:
                x = layer(x) + x
            x = x + self.time_downs[idx](emb)[:, :, None, None]
        x = self.mid(x)
        for idx, layer in enumerate(self.up):
            if idx % 2 == 0:
                x = layer(x) + x
            else:
                x = layer(F.interpolate(torch.cat([x, skips.pop()], 1), scale_factor=2, mode='nearest'))
        x = self.last(torch.cat([x, x_in], 1))
        s = t - SIGMA_MIN
        c_skip = 0.25 / (s ** 2 + 0.25)
        c_out = 0.25 * s / torch.sqrt(t ** 2 + 0.25)
        return c_skip[:, None, None, None] * x_in + c_out[:, None, None, None] * x


def peak_rss_mb():
    """This process's peak resident memory: VmHWM (reset by exec, unlike getrusage's ru_maxrss, which
    a child spawned by a large parent starts from), else ru_maxrss."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def karras_sigmas(n):
    i = torch.arange(n, dtype=torch.float64)
    return (SIGMA_MIN ** (1 / RHO) + i / (n - 1) * (SIGMA_MAX ** (1 / RHO) - SIGMA_MIN ** (1 / RHO))) ** RHO


def community_schedule(epoch, epochs):
    n = math.ceil(math.sqrt(epoch * (150 ** 2 - 4) / epochs + 4) - 1) + 1
    return n, math.exp(2 * math.log(0.95) / n)


def ct_step_fn(width, batch):
    online = SimpleUNet(1, width)
    target = SimpleUNet(1, width)
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.AdamW(online.parameters(), lr=1e-4, weight_decay=0.01)
    x = torch.randn(batch, 1, 32, 32).clamp(-1, 1)
    n, mu = community_schedule(10, 100)  # as bench/step-cases.ts: epoch 10 of 100
    sigmas = karras_sigmas(n).float()

    def step():
        i = torch.randint(0, n - 1, (batch,))
        hi, lo = sigmas[i + 1], sigmas[i]
        z = torch.randn_like(x)
        out = online(x + hi[:, None, None, None] * z, hi)
        with torch.no_grad():
            tgt = target(x + lo[:, None, None, None] * z, lo)
        loss = ((out - tgt) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for t, o in zip(target.parameters(), online.parameters()):
                t.mul_(mu).add_(o, alpha=1 - mu)
    return step


def sample_fn(width, batch):
    model = SimpleUNet(1, width).eval()
    levels = torch.full((batch,), SIGMA_MAX)

    def sample():
        with torch.no_grad():
            model(torch.randn(batch, 1, 32, 32) * SIGMA_MAX, levels).clamp(-1, 1)
    return sample


def read_safetensors(path):
    """The tensors of a safetensors file (F32 only): 8-byte header length, JSON header, data."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        begin, end = entry['data_offsets']
        data = bytearray(raw[8 + n + begin:8 + n + end])
        out[name] = torch.frombuffer(data, dtype=torch.float32).reshape(entry['shape'])
    return out


def check(path):
    tensors = read_safetensors(path)
    weights = {k[len('model.'):]: v for k, v in tensors.items() if k.startswith('model.')}
    model = SimpleUNet(tensors['x'].shape[1], weights['down.0.weight'].shape[0])
    model.load_state_dict(weights)
    with torch.no_grad():
        y = model(tensors['x'], tensors['t'])
    print(json.dumps({'max_abs_diff': (y - tensors['y']).abs().max().item(), 'max_abs_y': tensors['y'].abs().max().item()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--what', choices=['ct-step', 'sample'])
    parser.add_argument('--check', help='compare with onestep\'s forward saved in this file')
    parser.add_argument('--width', type=int, default=32)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seconds', type=float, default=2.0, help='time budget after the minimum samples')
    parser.add_argument('--min-samples', type=int, default=5)
    a = parser.parse_args()
    if a.check:
        return check(a.check)
    if not a.what:
        parser.error('--what or --check is required')
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    fn = (ct_step_fn if a.what == 'ct-step' else sample_fn)(a.width, a.batch)
    for _ in range(2):  # warm-up: allocator, oneDNN primitives
        fn()
    times, started = [], time.perf_counter()
    while len(times) < a.min_samples or time.perf_counter() - started < a.seconds:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    name = f"{'ct-step' if a.what == 'ct-step' else 'sample-1step'}-simpleunet-d{a.width}-b{a.batch}"
    print(json.dumps({
        'name': name, 'median_ms': statistics.median(times), 'samples': len(times),
        'max_rss_mb': peak_rss_mb(),
        'torch': torch.__version__, 'threads': torch.get_num_threads(),
    }))


if __name__ == '__main__':
    main()
