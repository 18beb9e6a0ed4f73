"""onestep's model files in PyTorch: the networks and what their weights mean, from the file alone.

A file written by onestep (a training checkpoint, an EMA export, a teacher, a converted official
model) is safetensors with metadata naming the network and its parametrization
(docs/contracts.md). `load(path)` builds the PyTorch network, loads the weights (a checkpoint's
`ema.*` copy, as onestep samples with) and returns a callable:

  - parametrization `community` (SimpleUNet): f(x, sigma) = c_skip x + c_out F(x, sigma);
  - `official`: f(x, sigma) = c_skip x + c_out F(c_in x, c_noise_scale ln sigma), the consistency
    function with c_skip(0.002) = 1;
  - `edm` (a teacher): the denoiser D(x, sigma) with EDM's c_skip, c_out, c_in around the same F.

    import onestep_torch
    model = onestep_torch.load('examples/checkpoints/mnist-simpleunet-d32.safetensors')
    x = model(80 * torch.randn(16, *model.shape), torch.full((16,), 80.0))   # one-step samples in [-1, 1]

A class-conditional model takes `labels` (one class per image; absent: the "no label" row).
The SimpleUNet is written here; the UNet is our PyTorch copy of the official UNetModel
(test/fixtures/official-unet/reference_unet.py). `python3 examples/pytorch/onestep_torch.py FILE
--check IO` compares with onestep's output saved in IO (tensors x, sigma, out and optionally labels)
and prints the largest difference relative to the largest output.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'official-unet'))
import reference_unet  # noqa: E402

SIGMA_DATA, SIGMA_MIN = 0.5, 0.002
CHECKPOINT_FORMAT = 'onestep-ct-checkpoint-1'
DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64}


def read_safetensors(path):
    """The tensors (as float32) and the metadata of a safetensors file."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        if entry['dtype'] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}; onestep writes F32 (F16/BF16/F64 read too)")
        begin, end = entry['data_offsets']
        data = bytearray(raw[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(data, dtype=DTYPES[entry['dtype']]).reshape(entry['shape']).float()
    return tensors, header.get('__metadata__', {})


def block(i, o):
    return nn.Sequential(nn.GroupNorm(32, i), nn.SiLU(), nn.Conv2d(i, o, 3, padding=1),
                         nn.GroupNorm(32, o), nn.SiLU(), nn.Conv2d(o, o, 3, padding=1))


class SimpleUNet(nn.Module):
    """The community SimpleUNet (docs/contracts.md, Models) with onestep's label embedding: K + 1
    rows, row K "no label". `body` is the network F(x, t); `forward` the community
    parametrization around it, t = sigma."""

    def __init__(self, channels, width, num_classes=None):
        super().__init__()
        C, D = channels, width
        self.width, self.num_classes = D, num_classes
        self.down = nn.ModuleList([nn.Conv2d(C, D, 3, padding=1), block(D, D), block(D, 2 * D), block(2 * D, 2 * D)])
        self.time_downs = nn.ModuleList([nn.Linear(2 * D, D), nn.Linear(2 * D, D), nn.Linear(2 * D, 2 * D), nn.Linear(2 * D, 2 * D)])
        self.mid = block(2 * D, 2 * D)
        self.up = nn.ModuleList([block(2 * D, 2 * D), block(4 * D, D), block(D, D), nn.Conv2d(2 * D, 2 * D, 3, padding=1)])
        self.last = nn.Conv2d(2 * D + C, C, 3, padding=1)
        if num_classes:
            self.label_emb = nn.Embedding(num_classes + 1, 2 * D)

    def body(self, x_in, t, labels=None):
        D = self.width
        freqs = torch.exp(-math.log(10000) * torch.arange(D, dtype=t.dtype) / D)
        args = t[:, None] * freqs[None]
        emb = torch.cat([torch.sin(args), torch.cos(args)], 1)
        if self.num_classes:
            emb = emb + self.label_emb(labels_or_none(labels, x_in.shape[0], self.num_classes))
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
        return self.last(torch.cat([x, x_in], 1))

    def forward(self, x, t, labels=None):
        s = t - SIGMA_MIN
        c_skip = 0.25 / (s ** 2 + 0.25)
        c_out = 0.25 * s / torch.sqrt(t ** 2 + 0.25)
        return c_skip[:, None, None, None] * x + c_out[:, None, None, None] * self.body(x, t, labels)


def labels_or_none(labels, batch, num_classes):
    """One label per image; absent: row K, "no label"."""
    if labels is None:
        return torch.full((batch,), num_classes, dtype=torch.long)
    return torch.as_tensor(labels, dtype=torch.long)


# onestep's DEFAULT_UNET_CONFIG (src/nn/unet.ts) less channels and width: a file's `unet` metadata
# holds only the settings that differ (test/pytorch-load.test.ts checks the two agree)
UNET_DEFAULTS = {'channelMult': [1, 2, 2], 'numResBlocks': 1, 'attentionResolutions': [2], 'dropout': 0.1, 'numHeads': 1,
                 'numHeadChannels': -1, 'numHeadsUpsample': -1, 'useScaleShiftNorm': True, 'resblockUpdown': False, 'noLabelRow': True}


def unet_from(metadata, channels, num_classes):
    """Our PyTorch UNetModel for a UNet file's metadata `unet` (onestep's UNetConfig)."""
    c = {**UNET_DEFAULTS, **json.loads(metadata.get('unet', '{}'))}
    rows = num_classes + (1 if c['noLabelRow'] else 0) if num_classes else None
    model = reference_unet.UNet(
        in_channels=channels, model_channels=int(metadata['width']), out_channels=channels, num_res_blocks=c['numResBlocks'],
        attention_ds=tuple(c['attentionResolutions']), channel_mult=tuple(c['channelMult']), num_classes=rows,
        num_heads=c['numHeads'], num_head_channels=c['numHeadChannels'], num_heads_upsample=c['numHeadsUpsample'],
        use_scale_shift_norm=c['useScaleShiftNorm'], resblock_updown=c['resblockUpdown'], dropout=c['dropout'])
    no_label = num_classes if c['noLabelRow'] else None

    def body(x, t, labels=None):
        if num_classes and labels is None:
            if no_label is None:
                raise ValueError('this model has no "no label" row (an official class-conditional model): give labels')
            labels = torch.full((x.shape[0],), no_label, dtype=torch.long)
        return model(x, t, None if labels is None else torch.as_tensor(labels, dtype=torch.long))
    return model, body


class Loaded(nn.Module):
    """A loaded file: call it as f(x, sigma, labels=None) (or D for a teacher)."""

    def __init__(self, network, body, parametrization, c_noise_scale, shape, metadata):
        super().__init__()
        self.network, self.body = network, body
        self.parametrization, self.c_noise_scale = parametrization, c_noise_scale
        self.shape, self.metadata = shape, metadata

    def forward(self, x, sigma, labels=None):
        if self.parametrization == 'community':
            return self.network(x, sigma, labels)
        shifted = sigma - SIGMA_MIN if self.parametrization == 'official' else sigma
        norm = torch.sqrt(sigma ** 2 + SIGMA_DATA ** 2)
        c_skip = SIGMA_DATA ** 2 / (shifted ** 2 + SIGMA_DATA ** 2)
        c_out = shifted * SIGMA_DATA / norm
        c_in = 1 / norm
        col = lambda v: v[:, None, None, None]  # noqa: E731
        return col(c_skip) * x + col(c_out) * self.body(col(c_in) * x, self.c_noise_scale * torch.log(sigma), labels)


def load(path):
    tensors, metadata = read_safetensors(path)
    if metadata.get('format') == CHECKPOINT_FORMAT:
        tensors = {k[len('ema.'):]: v for k, v in tensors.items() if k.startswith('ema.')}
    kind = metadata.get('model', 'SimpleUNet')
    first = tensors['down.0.weight' if kind == 'SimpleUNet' else 'input_blocks.0.0.weight']
    channels = int(metadata.get('channels', first.shape[1]))
    height = int(metadata.get('height', 32))
    num_classes = int(metadata['num_classes']) if 'num_classes' in metadata else None
    parametrization = metadata.get('parametrization', 'community')
    if parametrization not in ('community', 'official', 'edm'):
        raise ValueError(f"{path}: parametrization '{parametrization}' is not one onestep writes (community, official, edm)")
    if kind == 'SimpleUNet':
        network = SimpleUNet(channels, int(metadata.get('width', first.shape[0])), num_classes)
        body = network.body
    elif kind == 'UNet':
        if metadata.get('qkv_layout') != 'three-head-d':
            raise ValueError(f'{path}: a UNet file written before qkv_layout existed; load it once with onestep and save it again')
        network, body = unet_from(metadata, channels, num_classes)
    else:
        raise ValueError(f"{path}: model '{kind}' is not SimpleUNet or UNet")
    network.load_state_dict(tensors)
    network.eval()
    return Loaded(network, body, parametrization, float(metadata.get('c_noise_scale', 250)), (channels, height, height), metadata)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('file')
    parser.add_argument('--check', metavar='IO', help="onestep's x, sigma, out (and labels) in a safetensors file")
    a = parser.parse_args()
    model = load(a.file)
    print(f"{a.file}: {model.metadata.get('model', 'SimpleUNet')}, parametrization {model.parametrization}, images {model.shape}")
    if a.check:
        io, _ = read_safetensors(a.check)
        labels = io['labels'].long() if 'labels' in io else None
        with torch.no_grad():
            out = model(io['x'], io['sigma'], labels)
        print(json.dumps({'relative_difference': ((out - io['out']).abs().max() / io['out'].abs().max()).item()}))


if __name__ == '__main__':
    main()
