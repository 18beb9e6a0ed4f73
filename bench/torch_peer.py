"""The PyTorch CPU peer of `npm run bench` (bench/torch-peer.ts runs it when `import torch` works).

The same SimpleUNet (docs/contracts.md, Models: names, forward, community parametrization) and the
same consistency-training step as bench/step-cases.ts (recipe `seed`: the online network at
sigma_{i+1} with gradients, the EMA target at sigma_i without, squared distance, backward, AdamW
lr 1e-4 weight decay 0.01, target EMA update), or one-step sampling, timed in this process on the
same number of threads. Also the ADM-style UNet of the official consistency models (our PyTorch
UNetModel, test/fixtures/official-unet/reference_unet.py, checked there against the official code):
a training step of the imagenet9 example's configuration under recipe `ict` (the consistency
function at sigma_{i+1} with gradients and at sigma_i without, the same dropout mask in both,
pseudo-Huber over each image weighted 1 / (sigma_{i+1} - sigma_i), backward, AdamW lr 1e-3 without
weight decay as the Trainer's, an EMA copy at 0.995), or one-step sampling f(80 z, 80) with class labels. Prints one
JSON line:
  {"name", "median_ms", "samples", "max_rss_mb", "torch", "threads", "blas"}

  python3 bench/torch_peer.py --what ct-step|sample --width 32 --batch 32 --threads 2 [--seconds 2]
  python3 bench/torch_peer.py --what unet-train-step|unet-sample --official-args JSON --label-rows K
      --image-size S --batch B --name NAME --threads 2 [--seconds 0 --min-samples 3 --warm-up 1]
  python3 bench/torch_peer.py --check FILE   (FILE: onestep's weights as model.*, an input x, t and
      onestep's output y; prints {"max_abs_diff", "max_abs_y"}: the two models compute the same;
      a FILE whose metadata has official_args holds a UNet, its labels in `labels`)
"""
import argparse
import copy
import json
import math
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'pytorch'))
from onestep_torch import SimpleUNet, read_safetensors, reference_unet  # noqa: E402  (our PyTorch SimpleUNet and UNetModel, the file reader)

SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0


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


def blas_library():
    """Which BLAS this process's torch calls for matmuls (Debian's python3-torch links the generic
    libblas.so.3: the reference implementation unless an optimised one such as libopenblas0 is
    installed, which makes attention and linear layers several times slower)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open('/proc/self/maps') as f:
            maps = f.read()
    except OSError:
        return 'unknown'
    if 'blas/libblas.so' in maps:  # Debian's reference libblas3: first in the maps when loaded
        return 'reference'
    return next((name for name in ('openblas', 'blis', 'mkl') if name in maps), 'unknown')


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


def unet(official_args, in_channels, label_rows):
    """Our PyTorch UNetModel for create_model's keyword arguments, with `label_rows` label rows."""
    return reference_unet.create_model(**official_args, in_channels=in_channels, num_classes=label_rows)


def unet_train_step_fn(official_args, label_rows, image_size, batch):
    model = unet(official_args, 3, label_rows).train()
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)
    x = torch.randn(batch, 3, image_size, image_size).clamp(-1, 1)
    labels = torch.randint(0, label_rows, (batch,))
    sigmas = karras_sigmas(10).float()  # the ict curriculum's first N
    c = 0.00054 * math.sqrt(3 * image_size * image_size)

    def step():
        i = torch.randint(0, len(sigmas) - 1, (batch,))
        hi, lo = sigmas[i + 1], sigmas[i]
        z = torch.randn_like(x)
        dropout_seed = int(torch.randint(0, 2 ** 31, ()))
        torch.manual_seed(dropout_seed)
        _, online = reference_unet.consistency_fn(model, x + hi[:, None, None, None] * z, hi, labels)
        torch.manual_seed(dropout_seed)
        with torch.no_grad():
            _, target = reference_unet.consistency_fn(model, x + lo[:, None, None, None] * z, lo, labels)
        per_image = torch.sqrt(((online - target) ** 2).sum((1, 2, 3)) + c * c) - c
        loss = (per_image / (hi - lo)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters()):
                e.mul_(0.995).add_(p, alpha=0.005)
    return step


def unet_sample_fn(official_args, label_rows, image_size, batch):
    model = unet(official_args, 3, label_rows).eval()
    levels = torch.full((batch,), SIGMA_MAX)
    labels = torch.arange(batch) % label_rows if official_args.get('class_cond') else None

    def sample():
        with torch.no_grad():
            reference_unet.consistency_fn(model, torch.randn(batch, 3, image_size, image_size) * SIGMA_MAX, levels, labels)[1].clamp(-1, 1)
    return sample


def check(path):
    tensors, metadata = read_safetensors(path)
    weights = {k[len('model.'):]: v for k, v in tensors.items() if k.startswith('model.')}
    if 'official_args' in metadata:
        rows = weights['label_emb.weight'].shape[0] if 'label_emb.weight' in weights else None
        model = unet(json.loads(metadata['official_args']), tensors['x'].shape[1], rows).eval()
        model.load_state_dict(weights)
        labels = tensors['labels'].long() if rows else None
        with torch.no_grad():
            y = model(tensors['x'], tensors['t'], labels)
    else:
        model = SimpleUNet(tensors['x'].shape[1], weights['down.0.weight'].shape[0])
        model.load_state_dict(weights)
        with torch.no_grad():
            y = model(tensors['x'], tensors['t'])
    print(json.dumps({'max_abs_diff': (y - tensors['y']).abs().max().item(), 'max_abs_y': tensors['y'].abs().max().item()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--what', choices=['ct-step', 'sample', 'unet-train-step', 'unet-sample'])
    parser.add_argument('--check', help='compare with onestep\'s forward saved in this file')
    parser.add_argument('--width', type=int, default=32)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seconds', type=float, default=2.0, help='time budget after the minimum samples')
    parser.add_argument('--min-samples', type=int, default=5)
    parser.add_argument('--warm-up', type=int, default=2, help='untimed calls first (allocator, oneDNN primitives)')
    parser.add_argument('--official-args', help='the UNet: create_model\'s keyword arguments as JSON')
    parser.add_argument('--label-rows', type=int, default=None, help='the UNet\'s label rows (class_cond)')
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--name', help='the row\'s name (UNet rows)')
    a = parser.parse_args()
    if a.check:
        return check(a.check)
    if not a.what:
        parser.error('--what or --check is required')
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.what.startswith('unet-'):
        if not (a.official_args and a.name):
            parser.error('the UNet rows need --official-args and --name')
        make = unet_train_step_fn if a.what == 'unet-train-step' else unet_sample_fn
        fn = make(json.loads(a.official_args), a.label_rows, a.image_size, a.batch)
        name = a.name
    else:
        fn = (ct_step_fn if a.what == 'ct-step' else sample_fn)(a.width, a.batch)
        name = f"{'ct-step' if a.what == 'ct-step' else 'sample-1step'}-simpleunet-d{a.width}-b{a.batch}"
    for _ in range(a.warm_up):
        fn()
    times, started = [], time.perf_counter()
    while len(times) < a.min_samples or time.perf_counter() - started < a.seconds:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({
        'name': name, 'median_ms': statistics.median(times), 'samples': len(times),
        'max_rss_mb': peak_rss_mb(),
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(),
    }))


if __name__ == '__main__':
    main()
