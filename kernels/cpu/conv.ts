import type { Conv2dGeometry, ConvEpilogue, TypedArray } from '../../src/backend/backend';

// Direct convolution, the readable definition (cross-correlation, as PyTorch):
// out[b, co, oy, ox] = sum_{ci, ky, kx} x[b, ci, oy*sH - pH + ky, ox*sW - pW + kx] * w[co, ci, ky, kx]
// with out-of-range input positions reading as zero.

/** The Backend's conv2d: the convolution, then the bias per output channel (a separate pass, rounding as an add would), then the epilogue. */
export function conv2d(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: Conv2dGeometry, epilogue?: ConvEpilogue<TypedArray>): void {
  conv2dNoBias(x, w, out, g);
  if (bias) addChannelBias(out, bias, g.n, g.cOut, g.outH * g.outW);
  if (epilogue) applyConvEpilogue(out, epilogue, g.n, g.cOut);
}

/** out = convScale[b] out + residualScale[b] residual + channelAdd[b, c], per image b and channel c (ConvEpilogue). */
function applyConvEpilogue(out: TypedArray, e: ConvEpilogue<TypedArray>, n: number, c: number): void {
  const per = out.length / n, hw = per / c;
  for (let b = 0; b < n; b++) {
    const cs = e.convScale ? e.convScale[b]! : 1, rs = e.residualScale ? e.residualScale[b]! : 1;
    for (let i = b * per; i < (b + 1) * per; i++) {
      let v = e.convScale ? out[i]! * cs : out[i]!;
      if (e.residual) v += e.residualScale ? e.residual[i]! * rs : e.residual[i]!;
      if (e.channelAdd) v += e.channelAdd[b * c + Math.floor((i - b * per) / hw)]!;
      out[i] = v;
    }
  }
}

function addChannelBias(out: TypedArray, bias: TypedArray, n: number, c: number, hw: number): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const v = bias[ch]!, base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) out[base + i]! += v;
    }
  }
}

export function conv2dNoBias(x: TypedArray, w: TypedArray, out: TypedArray, g: Conv2dGeometry): void {
  const { n, cIn, h, w: width, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = g;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cOut; co++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let s = 0;
          for (let ci = 0; ci < cIn; ci++) {
            const xPlane = (b * cIn + ci) * h * width;
            const wPlane = (co * cIn + ci) * kh * kw;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * strideH - padH + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * strideW - padW + kx;
                if (ix < 0 || ix >= width) continue;
                s += x[xPlane + iy * width + ix]! * w[wPlane + ky * kw + kx]!;
              }
            }
          }
          out[((b * cOut + co) * outH + oy) * outW + ox] = s;
        }
      }
    }
  }
}

/** The adjoint of conv2d with respect to x: each output gradient scatters back through the window. */
export function conv2dGradInput(gy: TypedArray, w: TypedArray, gx: TypedArray, g: Conv2dGeometry): void {
  const { n, cIn, h, w: width, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = g;
  const acc = new Float64Array(gx.length);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cOut; co++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const d = gy[((b * cOut + co) * outH + oy) * outW + ox]!;
          if (d === 0) continue;
          for (let ci = 0; ci < cIn; ci++) {
            const xPlane = (b * cIn + ci) * h * width;
            const wPlane = (co * cIn + ci) * kh * kw;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * strideH - padH + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * strideW - padW + kx;
                if (ix < 0 || ix >= width) continue;
                acc[xPlane + iy * width + ix]! += d * w[wPlane + ky * kw + kx]!;
              }
            }
          }
        }
      }
    }
  }
  gx.set(acc);
}

/** The adjoint of conv2d with respect to the weight: correlate the input with the output gradient. */
export function conv2dGradWeight(x: TypedArray, gy: TypedArray, gw: TypedArray, g: Conv2dGeometry): void {
  const { n, cIn, h, w: width, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = g;
  for (let co = 0; co < cOut; co++) {
    for (let ci = 0; ci < cIn; ci++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          let s = 0;
          for (let b = 0; b < n; b++) {
            const xPlane = (b * cIn + ci) * h * width;
            const yPlane = (b * cOut + co) * outH * outW;
            for (let oy = 0; oy < outH; oy++) {
              const iy = oy * strideH - padH + ky;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < outW; ox++) {
                const ix = ox * strideW - padW + kx;
                if (ix < 0 || ix >= width) continue;
                s += x[xPlane + iy * width + ix]! * gy[yPlane + oy * outW + ox]!;
              }
            }
          }
          gw[((co * cIn + ci) * kh + ky) * kw + kx] = s;
        }
      }
    }
  }
}
